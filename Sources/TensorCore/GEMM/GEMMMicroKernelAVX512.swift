#if TENSORCORE_AVX512
// MARK: - AVX-512 micro-kernel: 8×32 register tile, 16 SIMD16<Float> accumulators

/// The register tile of AVX-512 builds (32 zmm registers).
///
/// Tuning (Zen 4, which executes a zmm FMA as two 256-bit halves, so 1 zmm FMA per cycle):
/// - `mr = 8, nr = 32`: 16 accumulators + 2 B vectors + 1 broadcast = 19 of 32 registers. A sweep of
///   MR ∈ {6, 8, 12, 14} × 32 put 8 best (MR 12/14 gain nothing, since FMA throughput is already the
///   limit, and make more edge work).
/// - `kcMax = 512`: fewer passes over C; a K×32 B panel is then 64 KiB and streams from L2.
/// - `bBlockBytes`: the packed kc×nc block of B shared by all threads stays in the 1 MiB L2.
enum GEMMMicroKernel {
    static let mr = 8
    static let nr = 32
    static let kcMax = 512
    static let bBlockBytes = 512 * 1024

    /// c[mr×nr] (row stride ldc) = alpha · Σ_p A(r, p) · B(p, 0..<nr) (+ c when `loadC`).
    /// A(r, p) is `a[r * aRow + p * aStep]` (packed panel: aRow 1, aStep mr; row-major A read in
    /// place: aRow lda, aStep 1). `b` is a packed panel: nr floats per p, 64-byte aligned.
    @inline(never)
    static func tile(kc: Int, a: UnsafePointer<Float>, aRow: Int, aStep: Int, b: UnsafePointer<Float>,
                     c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, loadC: Bool) {
        typealias V = SIMD16<Float>
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
        var c40 = V(), c41 = V(), c50 = V(), c51 = V(), c60 = V(), c61 = V(), c70 = V(), c71 = V()
        let r1 = aRow, r2 = 2 &* aRow, r3 = 3 &* aRow, r4 = 4 &* aRow
        let r5 = 5 &* aRow, r6 = 6 &* aRow, r7 = 7 &* aRow
        var ap = a
        var bp = UnsafeRawPointer(b)
        for _ in 0..<kc {
            let b0 = bp.load(as: V.self)
            let b1 = bp.load(fromByteOffset: 64, as: V.self)
            var av = V(repeating: ap[0])
            c00 = c00.addingProduct(av, b0); c01 = c01.addingProduct(av, b1)
            av = V(repeating: ap[r1])
            c10 = c10.addingProduct(av, b0); c11 = c11.addingProduct(av, b1)
            av = V(repeating: ap[r2])
            c20 = c20.addingProduct(av, b0); c21 = c21.addingProduct(av, b1)
            av = V(repeating: ap[r3])
            c30 = c30.addingProduct(av, b0); c31 = c31.addingProduct(av, b1)
            av = V(repeating: ap[r4])
            c40 = c40.addingProduct(av, b0); c41 = c41.addingProduct(av, b1)
            av = V(repeating: ap[r5])
            c50 = c50.addingProduct(av, b0); c51 = c51.addingProduct(av, b1)
            av = V(repeating: ap[r6])
            c60 = c60.addingProduct(av, b0); c61 = c61.addingProduct(av, b1)
            av = V(repeating: ap[r7])
            c70 = c70.addingProduct(av, b0); c71 = c71.addingProduct(av, b1)
            ap += aStep
            bp += 128
        }
        storeRow(c, c00, c01, alpha, loadC)
        storeRow(c + ldc, c10, c11, alpha, loadC)
        storeRow(c + 2 &* ldc, c20, c21, alpha, loadC)
        storeRow(c + 3 &* ldc, c30, c31, alpha, loadC)
        storeRow(c + 4 &* ldc, c40, c41, alpha, loadC)
        storeRow(c + 5 &* ldc, c50, c51, alpha, loadC)
        storeRow(c + 6 &* ldc, c60, c61, alpha, loadC)
        storeRow(c + 7 &* ldc, c70, c71, alpha, loadC)
    }

    /// row[0..<32] = alpha · (v0, v1) (+ row when `loadC`), one rounding per FMA.
    @inline(__always)
    private static func storeRow(_ row: UnsafeMutablePointer<Float>, _ v0: SIMD16<Float>, _ v1: SIMD16<Float>,
                                 _ alpha: Float, _ loadC: Bool) {
        let raw = UnsafeMutableRawPointer(row)
        if loadC {
            let old0 = raw.loadUnaligned(as: SIMD16<Float>.self)
            let old1 = raw.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            raw.storeBytes(of: old0.addingProduct(alpha, v0), as: SIMD16<Float>.self)
            raw.storeBytes(of: old1.addingProduct(alpha, v1), toByteOffset: 64, as: SIMD16<Float>.self)
        } else {
            raw.storeBytes(of: v0 * alpha, as: SIMD16<Float>.self)
            raw.storeBytes(of: v1 * alpha, toByteOffset: 64, as: SIMD16<Float>.self)
        }
    }
}
#endif
