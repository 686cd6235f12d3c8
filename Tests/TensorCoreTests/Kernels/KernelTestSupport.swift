import Foundation
import Testing
import TensorCore
import TestSupport

/// Owns the raw buffers of one test; `release()` (call it in a `defer`) frees them all, which also
/// keeps every buffer alive until the end of the test's scope.
final class Workspace {
    private var allocations: [UnsafeMutableBufferPointer<Float>] = []

    func buffer(_ values: [Float]) -> UnsafeMutableBufferPointer<Float> {
        let pointer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(values.count, 1))
        _ = pointer.initialize(from: values + (values.isEmpty ? [0] : []))
        let view = UnsafeMutableBufferPointer(rebasing: pointer[0..<values.count])
        allocations.append(pointer)
        return view
    }

    func zeros(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        buffer([Float](repeating: 0, count: count))
    }

    func release() {
        for pointer in allocations { pointer.deallocate() }
        allocations = []
    }
}

extension UnsafeMutableBufferPointer where Element == Float {
    var readOnly: UnsafeBufferPointer<Float> { UnsafeBufferPointer(self) }
    var array: [Float] { Array(self) }
}

/// Row counts and column counts of the shape grids: 1, tails that are not multiples of 16, and
/// the model's widths; 0 is tested separately where meaningful.
enum ShapeGrid {
    static let rows = [1, 3, 64, 65]
    static let columns = [1, 7, 15, 16, 17, 33, 192, 200]
    static let all: [(Int, Int)] = rows.flatMap { r in columns.map { (r, $0) } }
    static let counts = [0, 1, 7, 15, 16, 17, 33, 192, 200, 16_384 + 17, 100_003]
}

/// Central finite differences of `loss` at `x` (Double throughout).
func numericGradient(_ x: [Double], step: Double = 1e-6, _ loss: ([Double]) -> Double) -> [Double] {
    var probe = x
    return x.indices.map { i in
        probe[i] = x[i] + step
        let up = loss(probe)
        probe[i] = x[i] - step
        let down = loss(probe)
        probe[i] = x[i]
        return (up - down) / (2 * step)
    }
}

/// Compares an analytic (Float) gradient with a finite-difference (Double) one:
/// |a − n| ≤ atol + rtol·|n|.
func expectGradientClose(
    _ analytic: [Float], _ numeric: [Double], atol: Double = 2e-5, rtol: Double = 1e-4,
    _ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation
) {
    expectClose(analytic, numeric, atol: atol, rtol: rtol, what(), sourceLocation: sourceLocation)
}

/// Σ w ⊙ v in Double.
func weightedSum(_ w: [Float], _ v: [Double]) -> Double {
    zip(w, v).reduce(0) { $0 + Double($1.0) * $1.1 }
}
