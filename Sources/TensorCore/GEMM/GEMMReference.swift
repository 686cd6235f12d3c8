// MARK: - Naive reference GEMM (the oracle)

/// The plain triple loop: C[M×N] = alpha · op(A) · op(B) + (accumulate ? C : 0), same arguments
/// and layouts as `gemm`. Each element's dot product is accumulated in **Double** in increasing p
/// and rounded to Float once (after adding C), so it is accurate to about one Float ulp of the
/// exact result for the sizes we use; tests measure `gemm` against it.
public func gemmReference(_ layout: GEMMLayout, m: Int, n: Int, k: Int, alpha: Float = 1,
                          a: UnsafeBufferPointer<Float>, lda: Int, b: UnsafeBufferPointer<Float>, ldb: Int,
                          c: UnsafeMutableBufferPointer<Float>, ldc: Int, accumulate: Bool) {
    checkGEMMArguments(layout, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
    // op(A)[i, p] and op(B)[p, j] as (row stride, column stride) into the stored buffers.
    let (aRow, aCol) = layout == .tn ? (1, lda) : (lda, 1)
    let (bRow, bCol) = layout == .nt ? (1, ldb) : (ldb, 1)
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                sum += Double(a[i * aRow + p * aCol]) * Double(b[p * bRow + j * bCol])
            }
            let previous = accumulate ? Double(c[i * ldc + j]) : 0
            c[i * ldc + j] = Float(Double(alpha) * sum + previous)
        }
    }
}
