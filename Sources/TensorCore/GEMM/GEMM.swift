// MARK: - Public entry point of the packed SIMD GEMM
//
// Layout of the GEMM sources (one concept per file):
//   GEMM.swift                   layout enum, public `gemm`, argument checks
//   GEMMReference.swift          the naive triple loop (the oracle of the tests)
//   GEMMOperand.swift            a strided matrix view: how each layout maps onto (row, column) strides
//   GEMMBlocking.swift           block sizes and the task grid, pure functions of the shape
//   GEMMPacking.swift            packing A into MR-row panels and B into NR-column panels
//   GEMMMicroKernelAVX512.swift  MR×NR register tile for AVX-512 builds (`TENSORCORE_AVX512`)
//   GEMMMicroKernelAVX2.swift    MR×NR register tile for AVX2 builds (16 vector registers)
//   GEMMDriver.swift             the Goto/BLIS loop nest, scratch memory and threading

/// Which operands of `gemm` are stored transposed. All matrices are row-major.
public enum GEMMLayout: Sendable, CaseIterable, CustomStringConvertible {
    /// C = A·B: A is M×K, B is K×N (forward Y = X·W).
    case nn
    /// C = A·Bᵀ: A is M×K, B is stored N×K (backward dX = dY·Wᵀ, attention Q·Kᵀ).
    case nt
    /// C = Aᵀ·B: A is stored K×M, B is K×N (backward dW = Xᵀ·dY).
    case tn

    public var description: String {
        switch self {
        case .nn: "NN"
        case .nt: "NT"
        case .tn: "TN"
        }
    }
}

/// C[M×N] = alpha · op(A) · op(B) + (accumulate ? C : 0), all row-major.
///   .nn: A is M×K (row stride lda ≥ K), B is K×N (ldb ≥ N)       — forward  Y = X·W
///   .nt: A is M×K, B is stored N×K (ldb ≥ K), C = A·Bᵀ            — backward dX = dY·Wᵀ, attention Q·Kᵀ
///   .tn: A is stored K×M (lda ≥ M), B is K×N, C = Aᵀ·B            — backward dW = Xᵀ·dY
///
/// Packed, cache-blocked and register-tiled (Goto/BLIS). `k == 0` sets C to zero, or leaves it
/// unchanged when accumulating. Threads split the output, never K, so C is bit-identical for any
/// `pool` size; the summation order differs from `gemmReference` and between SIMD builds.
public func gemm(_ layout: GEMMLayout, m: Int, n: Int, k: Int, alpha: Float = 1,
                 a: UnsafeBufferPointer<Float>, lda: Int, b: UnsafeBufferPointer<Float>, ldb: Int,
                 c: UnsafeMutableBufferPointer<Float>, ldc: Int, accumulate: Bool, pool: ThreadPool? = nil) {
    checkGEMMArguments(layout, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
    guard m > 0, n > 0 else { return }
    guard k > 0 else {
        if !accumulate { zeroGEMMOutput(m: m, n: n, c: c, ldc: ldc) }
        return
    }
    let problem = GEMMProblem(layout, m: m, n: n, k: k, alpha: alpha, a: a.baseAddress!, lda: lda,
                              b: b.baseAddress!, ldb: ldb, c: c.baseAddress!, ldc: ldc, accumulate: accumulate)
    runGEMM(problem, pool: pool)
}

// MARK: - Argument checks

/// Stored (rows, columns) of A and B for `layout`.
func storedShapes(_ layout: GEMMLayout, m: Int, n: Int, k: Int) -> (a: (Int, Int), b: (Int, Int)) {
    switch layout {
    case .nn: ((m, k), (k, n))
    case .nt: ((m, k), (n, k))
    case .tn: ((k, m), (k, n))
    }
}

/// Traps with a message unless every buffer holds its matrix: `ld ≥ cols` and
/// `count ≥ (rows - 1) · ld + cols` (nothing is required of an empty matrix).
func checkGEMMArguments(_ layout: GEMMLayout, m: Int, n: Int, k: Int,
                        a: UnsafeBufferPointer<Float>, lda: Int, b: UnsafeBufferPointer<Float>, ldb: Int,
                        c: UnsafeMutableBufferPointer<Float>, ldc: Int) {
    precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative size m=\(m) n=\(n) k=\(k)")
    let (aShape, bShape) = storedShapes(layout, m: m, n: n, k: k)
    checkMatrix("A", rows: aShape.0, cols: aShape.1, ld: lda, count: a.count, layout)
    checkMatrix("B", rows: bShape.0, cols: bShape.1, ld: ldb, count: b.count, layout)
    checkMatrix("C", rows: m, cols: n, ld: ldc, count: c.count, layout)
}

private func checkMatrix(_ name: String, rows: Int, cols: Int, ld: Int, count: Int, _ layout: GEMMLayout) {
    precondition(ld >= max(cols, 1),
                 "gemm \(layout): ld\(name.lowercased()) = \(ld) is less than the \(cols) columns of \(name)")
    guard rows > 0, cols > 0 else { return }
    let needed = (rows - 1) * ld + cols
    precondition(count >= needed,
                 "gemm \(layout): \(name) is \(rows)×\(cols) with ld \(ld) and needs \(needed) floats, got \(count)")
}

/// C[M×N] = 0 (row stride ldc).
func zeroGEMMOutput(m: Int, n: Int, c: UnsafeMutableBufferPointer<Float>, ldc: Int) {
    for i in 0..<m {
        UnsafeMutableBufferPointer(rebasing: c[(i * ldc)..<(i * ldc + n)]).update(repeating: 0)
    }
}
