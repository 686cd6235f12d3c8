import Testing
import TensorCore
import TestSupport

@Suite struct GEMMTests {
    /// Sizes around the tile shapes (8×32 AVX-512, 6×16 AVX2, SIMD width 16) and the K block (512).
    static let sizes = [0, 1, 3, 8, 15, 16, 17, 31, 33, 65, 100, 191, 193, 513]

    /// Three rotations of `sizes` as (m, n, k): every size appears three times in every position,
    /// 42 shapes in all, with leading-dimension padding 0, 3 or 6 in turn.
    static let shapes: [(m: Int, n: Int, k: Int, pad: Int)] = {
        let s = sizes, count = sizes.count
        var shapes: [(Int, Int, Int, Int)] = []
        for (index, (dn, dk)) in [(4, 9), (7, 2), (11, 5)].enumerated() {
            for i in 0..<count {
                shapes.append((s[i], s[(i + dn) % count], s[(i + dk) % count], 3 * ((i + index) % 3)))
            }
        }
        return shapes
    }()

    @Test(arguments: GEMMLayout.allCases, [false, true])
    func fastMatchesReferenceOverShapeGrid(layout: GEMMLayout, accumulate: Bool) {
        for (index, shape) in Self.shapes.enumerated() {
            for alpha: Float in [1, 0.5] {
                let problem = GEMMCase(layout, m: shape.m, n: shape.n, k: shape.k, alpha: alpha, pad: shape.pad,
                                       tag: UInt32(index))
                problem.expectMatchesReference(accumulate: accumulate)
            }
        }
    }

    /// Larger problems through a 2-thread pool: several K blocks, N blocks and row tasks.
    @Test(arguments: GEMMLayout.allCases)
    func fastMatchesReferenceOnLargerProblemsWithPool(layout: GEMMLayout) {
        let pool = ThreadPool(threadCount: 2)
        for (m, n, k) in [(300, 200, 700), (64, 1100, 300), (1030, 40, 1030)] {
            let problem = GEMMCase(layout, m: m, n: n, k: k, alpha: 0.5, pad: 5, tag: 9)
            problem.expectMatchesReference(accumulate: true, pool: pool)
        }
    }

    @Test(arguments: GEMMLayout.allCases)
    func resultIsBitIdenticalForAnyThreadCount(layout: GEMMLayout) {
        let pools = [1, 2, 3].map { ThreadPool(threadCount: $0) }
        var shapes = [(300, 200, 700, false), (300, 200, 700, true), (7, 1200, 300, false)]
        if layout == .nn { shapes.append((4096, 192, 192, false)) }
        for (m, n, k, accumulate) in shapes {
            let problem = GEMMCase(layout, m: m, n: n, k: k, alpha: 0.5, pad: 1, tag: 21)
            let c0 = problem.initialC(tag: 5)
            let serial = problem.run(c0, accumulate: accumulate, pool: nil)
            for pool in pools {
                let threaded = problem.run(c0, accumulate: accumulate, pool: pool)
                expectBitwiseEqual(threaded, serial, "\(problem) accumulate=\(accumulate) threads=\(pool.threadCount)")
            }
        }
    }

    @Test(arguments: GEMMLayout.allCases)
    func accumulateFalseOverwritesAndTrueAdds(layout: GEMMLayout) {
        let problem = GEMMCase(layout, m: 37, n: 45, k: 29, tag: 3)
        let zeros = [Float](repeating: 0, count: problem.m * problem.ldc)
        let product = problem.run(zeros, accumulate: false)
        // Overwrite: prior contents (even NaN) must not leak into C.
        let nans = [Float](repeating: .nan, count: zeros.count)
        expectBitwiseEqual(problem.run(nans, accumulate: false), product, "\(problem): overwrite over NaN")
        // Add: C0 + A·B, to one rounding of the sum of C0 and the (already rounded) product.
        let c0 = problem.initialC(tag: 11)
        let sum = problem.run(c0, accumulate: true)
        let expected = zip(c0, product).map { $0 + $1 }
        expectClose(sum, expected, atol: 1e-6, rtol: 1e-6, "\(problem): accumulate adds to C")
    }

    @Test(arguments: GEMMLayout.allCases)
    func zeroDepthZeroesOrKeepsC(layout: GEMMLayout) {
        let problem = GEMMCase(layout, m: 5, n: 7, k: 0, tag: 4)
        let c0 = problem.initialC(tag: 12)
        expectBitwiseEqual(problem.run(c0, accumulate: true), c0, "\(problem): k = 0 accumulating keeps C")
        let cleared = problem.run(c0, accumulate: false)
        #expect(cleared.allSatisfy { $0 == 0 }, "\(problem): k = 0 without accumulate sets C to zero")
    }

    @Test func undersizedBufferTraps() async {
        await #expect(processExitsWith: .failure) {
            let a = [Float](repeating: 1, count: 10), b = [Float](repeating: 1, count: 12)
            var c = [Float](repeating: 0, count: 12)
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        gemm(.nn, m: 3, n: 4, k: 4, a: a, lda: 4, b: b, ldb: 4, c: c, ldc: 4, accumulate: false)
                    }
                }
            }
        }
    }
}
