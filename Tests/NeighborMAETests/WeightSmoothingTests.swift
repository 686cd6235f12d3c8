import NeighborMAE
import Testing
import TestSupport

@Suite("NeighborMAE weight smoothing (AvgPool2d, count_include_pad=False)")
struct WeightSmoothingTests {
    static func pool(_ input: [Double], h: Int, w: Int, kernel: Int, reference: Bool) -> [Double] {
        var out = [Double](repeating: .nan, count: input.count), scratch = out
        input.withUnsafeBufferPointer { i in
            out.withUnsafeMutableBufferPointer { o in
                scratch.withUnsafeMutableBufferPointer { s in
                    if reference {
                        averagePoolReference(i, height: h, width: w, kernel: kernel, into: o)
                    } else {
                        averagePool(i, height: h, width: w, kernel: kernel, scratch: s, into: o)
                    }
                }
            }
        }
        return out
    }

    @Test(arguments: [(16, 16, 5), (7, 5, 9), (64, 64, 5), (9, 12, 1), (10, 3, 3)])
    func separableMatchesReference(_ h: Int, _ w: Int, _ kernel: Int) {
        let input = randomValues(h * w, tag: 30).map { Double($0) }
        expectClose(Self.pool(input, h: h, w: w, kernel: kernel, reference: false),
                    Self.pool(input, h: h, w: w, kernel: kernel, reference: true), atol: 1e-15, rtol: 1e-14,
                    "avg pool \(h)x\(w) k\(kernel)")
    }

    /// Border windows divide by the in-image count only: a 3 × 3 map with kernel 3.
    @Test func bordersCountOnlyInImageValues() {
        let input: [Double] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        let expected: [Double] = [12.0 / 4, 21.0 / 6, 16.0 / 4,
                                  27.0 / 6, 45.0 / 9, 33.0 / 6,
                                  24.0 / 4, 39.0 / 6, 28.0 / 4]
        for reference in [true, false] {
            expectClose(Self.pool(input, h: 3, w: 3, kernel: 3, reference: reference), expected, atol: 1e-15, rtol: 0,
                        "reference \(reference)")
        }
        let ones = [Double](repeating: 1, count: 35)
        #expect(Self.pool(ones, h: 5, w: 7, kernel: 5, reference: false).allSatisfy { $0 == 1 })
    }
}
