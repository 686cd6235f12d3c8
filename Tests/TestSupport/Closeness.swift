import TensorCore
import Testing

// Comparisons and test data shared by every test target (one copy; STYLE.md rule 10: `assertClose`
// prints shapes and the first differing elements).

/// Compares `actual` with `expected` elementwise: |a − e| <= atol + rtol·|e| (NaN never passes).
/// On failure records one issue naming the first few differing elements and the worst error.
public func expectClose<A: BinaryFloatingPoint, E: BinaryFloatingPoint>(
    _ actual: [A], _ expected: [E], atol: Double, rtol: Double, _ what: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.count == expected.count else {
        Issue.record("\(what()): \(actual.count) elements, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    var failures: [String] = []
    var worst = 0.0
    for index in actual.indices {
        let a = Double(actual[index]), e = Double(expected[index])
        let error = abs(a - e)
        if !(error <= atol + rtol * abs(e)) {
            worst = max(worst, error.isNaN ? .infinity : error)
            if failures.count < 5 { failures.append("[\(index)] \(a) vs \(e)") }
        }
    }
    if !failures.isEmpty {
        let message = "\(what()): not close (atol \(atol), rtol \(rtol), worst |error| \(worst)); "
            + failures.joined(separator: ", ")
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }
}

/// `expectClose` over buffers.
public func expectClose(
    _ actual: UnsafeBufferPointer<Float>, _ expected: UnsafeBufferPointer<Float>, atol: Double, rtol: Double,
    _ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation
) {
    expectClose(Array(actual), Array(expected), atol: atol, rtol: rtol, what(), sourceLocation: sourceLocation)
}

/// Bitwise equality of two float arrays (determinism tests); reports the first difference.
public func expectBitwiseEqual(
    _ actual: [Float], _ expected: [Float], _ what: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.count == expected.count else {
        Issue.record("\(what()): \(actual.count) elements, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    if let index = actual.indices.first(where: { actual[$0].bitPattern != expected[$0].bitPattern }) {
        Issue.record("\(what()): first bitwise difference at [\(index)]: \(actual[index]) vs \(expected[index])",
                     sourceLocation: sourceLocation)
    }
}

/// Deterministic test data: `count` values uniform in [−scale, scale) from Philox stream `tag`.
public func randomValues(_ count: Int, tag: UInt32, scale: Float = 1, seed: UInt64 = 0x5EED) -> [Float] {
    var stream = CounterRNG(seed: seed).stream(tag)
    return (0..<count).map { _ in (stream.nextUniform() * 2 - 1) * scale }
}

/// A tensor of `randomValues`.
public func randomTensor(_ shape: [Int], tag: UInt32, scale: Float = 1) -> Tensor {
    Tensor(shape: shape, values: randomValues(shape.reduce(1, *), tag: tag, scale: scale))
}
