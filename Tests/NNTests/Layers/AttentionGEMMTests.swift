import Testing
import TensorCore
import TestSupport

/// `attentionGEMM` (the unpacked kernel for per-head attention products) against `gemmReference`.
@Suite struct AttentionGEMMTests {
    static let sentinel: Float = -777

    /// Attention's shapes (encoder S = 33, hd = 64; decoder Q = 129, hd = 32) and awkward ones.
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (33, 33, 64), (33, 64, 33), (129, 129, 32), (129, 32, 129), (5, 8, 5), (5, 5, 8),
        (1, 1, 1), (7, 17, 3), (9, 80, 11), (13, 65, 16), (17, 48, 1), (4, 16, 0),
    ]

    static var cases: [(GEMMLayout, Int)] {
        GEMMLayout.allCases.flatMap { layout in shapes.indices.map { (layout, $0) } }
    }

    @Test(arguments: cases) func matchesReference(layout: GEMMLayout, shapeIndex: Int) {
        let (m, n, k) = Self.shapes[shapeIndex]
        let pad = 3
        let (aRows, aCols) = layout == .tn ? (k, m) : (m, k)
        let (bRows, bCols) = layout == .nt ? (n, k) : (k, n)
        let lda = aCols + pad, ldb = bCols + pad, ldc = n + pad
        let a = randomTensor([max(aRows * lda, 1)], tag: 1).scalars
        let b = randomTensor([max(bRows * ldb, 1)], tag: 2).scalars
        var initial = randomTensor([m * ldc], tag: 3).scalars
        for i in 0..<m { for j in n..<ldc { initial[i * ldc + j] = Self.sentinel } }
        for (alpha, accumulate) in [(Float(1), false), (Float(0.375), true)] {
            var fast = initial, reference = initial, bound = initial.map { _ in Float(0) }
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    fast.withUnsafeMutableBufferPointer { c in
                        attentionGEMM(layout, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                                      c: c, ldc: ldc, accumulate: accumulate)
                    }
                    reference.withUnsafeMutableBufferPointer { c in
                        gemmReference(layout, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                                      c: c, ldc: ldc, accumulate: accumulate)
                    }
                    // Σ|a||b| per element: an FMA chain of length k errs by at most ≈ k·2⁻²⁴ of it.
                    let absA = a.map(abs), absB = b.map(abs)
                    absA.withUnsafeBufferPointer { absA in
                        absB.withUnsafeBufferPointer { absB in
                            bound.withUnsafeMutableBufferPointer { c in
                                gemmReference(layout, m: m, n: n, k: k, a: absA, lda: lda, b: absB, ldb: ldb,
                                              c: c, ldc: ldc, accumulate: false)
                            }
                        }
                    }
                }
            }
            var failures = 0
            for i in 0..<m {
                for j in 0..<ldc {
                    let index = i * ldc + j
                    if j >= n {
                        if fast[index] != Self.sentinel { failures += 1 }
                        continue
                    }
                    let tolerance = Float(k + 2) * 0x1p-23 * (alpha * bound[index] + abs(initial[index])) + 1e-7
                    if !(abs(fast[index] - reference[index]) <= tolerance) { failures += 1 }
                }
            }
            #expect(failures == 0, "\(layout) m=\(m) n=\(n) k=\(k) alpha=\(alpha) accumulate=\(accumulate)")
        }
    }
}
