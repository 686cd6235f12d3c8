import Testing
import TensorCore
import TestSupport

/// One GEMM problem with stored, padded operands: A, B and C have `pad` extra floats per row
/// (ld = cols + pad), and C's padding holds a sentinel that no call may overwrite.
struct GEMMCase: CustomStringConvertible {
    static let sentinel: Float = -777

    let layout: GEMMLayout
    let m: Int, n: Int, k: Int
    let alpha: Float
    let pad: Int
    var a: [Float] = []
    var b: [Float] = []

    var description: String { "\(layout) m=\(m) n=\(n) k=\(k) alpha=\(alpha) pad=\(pad)" }
    var storedA: (rows: Int, cols: Int) { layout == .tn ? (k, m) : (m, k) }
    var storedB: (rows: Int, cols: Int) { layout == .nt ? (n, k) : (k, n) }
    var lda: Int { max(storedA.cols + pad, 1) }
    var ldb: Int { max(storedB.cols + pad, 1) }
    var ldc: Int { max(n + pad, 1) }

    init(_ layout: GEMMLayout, m: Int, n: Int, k: Int, alpha: Float = 1, pad: Int = 0, tag: UInt32 = 1) {
        self.layout = layout
        self.m = m
        self.n = n
        self.k = k
        self.alpha = alpha
        self.pad = pad
        a = randomValues(storedA.rows * lda, tag: tag)
        b = randomValues(storedB.rows * ldb, tag: tag &+ 1000)
    }

    /// C with values in [-1, 1) in the matrix and the sentinel in the padding.
    func initialC(tag: UInt32) -> [Float] {
        var c = randomValues(m * ldc, tag: tag)
        for i in 0..<m {
            for j in n..<ldc { c[i * ldc + j] = Self.sentinel }
        }
        return c
    }

    /// Runs `gemm` (or `gemmReference` when `reference`) on a copy of `c` and returns it.
    func run(_ c: [Float], accumulate: Bool, pool: ThreadPool? = nil, reference: Bool = false,
             absolute: Bool = false) -> [Float] {
        var c = c
        let a = absolute ? self.a.map(abs) : self.a
        let b = absolute ? self.b.map(abs) : self.b
        let alpha = absolute ? abs(self.alpha) : self.alpha
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    if reference {
                        gemmReference(layout, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                                      c: c, ldc: ldc, accumulate: accumulate)
                    } else {
                        gemm(layout, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                             c: c, ldc: ldc, accumulate: accumulate, pool: pool)
                    }
                }
            }
        }
        return c
    }

    /// Checks `gemm` against `gemmReference` with the rigorous forward-error bound of a float dot
    /// product (Higham, Accuracy and Stability, §3.1): per element
    ///   |fast − exact| ≤ γ · (|alpha| · Σ_p |A(i,p)| |B(p,j)| + |C0(i,j)|),  γ = (2k + 4) · 2⁻²⁴,
    /// covering k FMA roundings in a K block, one per K block when added to C (≤ k more), the
    /// alpha/C update, and the reference's own final rounding. A wrong or missing product term is
    /// of the order of Σ|A||B|/k and so far outside it.
    func expectMatchesReference(accumulate: Bool, pool: ThreadPool? = nil,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        let c0 = initialC(tag: 77)
        let fast = run(c0, accumulate: accumulate, pool: pool)
        let exact = run(c0, accumulate: accumulate, reference: true)
        let absC0 = c0.map { accumulate ? abs($0) : 0 }
        let magnitude = run(absC0, accumulate: true, reference: true, absolute: true)
        let gamma = Float(2 * k + 4) * Float.ulpOfOne / 2
        var failures: [String] = []
        for i in 0..<m {
            for j in 0..<ldc {
                let index = i * ldc + j
                if j >= n {
                    if fast[index] != Self.sentinel { failures.append("padding [\(i),\(j)] overwritten") }
                    continue
                }
                let bound = gamma * magnitude[index] + Float.leastNormalMagnitude
                if !(abs(fast[index] - exact[index]) <= bound) {
                    failures.append("[\(i),\(j)] \(fast[index]) vs \(exact[index]) (bound \(bound))")
                }
            }
        }
        if !failures.isEmpty {
            Issue.record(Comment(rawValue: "\(self) accumulate=\(accumulate): \(failures.count) bad elements; "
                + failures.prefix(4).joined(separator: ", ")), sourceLocation: sourceLocation)
        }
    }
}
