// MARK: - Strided matrix views: how the three layouts reach one kernel

/// A read-only matrix view: element (row, col) is `base[row * rowStride + col * colStride]`.
/// A transposed operand is the same storage with the two strides swapped, so packing reads
/// every layout through this one type.
struct GEMMOperand {
    let base: UnsafePointer<Float>
    let rowStride: Int
    let colStride: Int

    @inline(__always)
    func pointer(row: Int, col: Int) -> UnsafePointer<Float> {
        base + (row &* rowStride &+ col &* colStride)
    }
}

/// One validated `gemm` call, with op(A) (M×K) and op(B) (K×N) as strided views.
struct GEMMProblem {
    let layout: GEMMLayout
    let m: Int
    let n: Int
    let k: Int
    let alpha: Float
    /// op(A), M×K.
    let a: GEMMOperand
    /// op(B), K×N.
    let b: GEMMOperand
    let c: UnsafeMutablePointer<Float>
    let ldc: Int
    let accumulate: Bool

    init(_ layout: GEMMLayout, m: Int, n: Int, k: Int, alpha: Float,
         a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
         c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        self.layout = layout
        self.m = m
        self.n = n
        self.k = k
        self.alpha = alpha
        self.a = layout == .tn ? GEMMOperand(base: a, rowStride: 1, colStride: lda)
                               : GEMMOperand(base: a, rowStride: lda, colStride: 1)
        self.b = layout == .nt ? GEMMOperand(base: b, rowStride: 1, colStride: ldb)
                               : GEMMOperand(base: b, rowStride: ldb, colStride: 1)
        self.c = c
        self.ldc = ldc
        self.accumulate = accumulate
    }
}
