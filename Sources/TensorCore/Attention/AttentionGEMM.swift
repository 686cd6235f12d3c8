// MARK: - Unpacked register-blocked GEMM for the per-head products of attention
//
// The packed GEMM (GEMM.swift) pays for packing and blocking that only amortise on large
// problems. Attention multiplies many small matrices per (sample, head) — encoder S = 33,
// hd = 64; decoder Q = 129, hd = 32 — whose operands fit in L1, so this kernel works straight
// from the strided views: each MR×(16·NV) tile of C keeps its accumulators in registers,
// broadcasts one element of op(A) per row and FMAs it with NV SIMD16 vectors of a row of B.
// B must be row-major K×N with readable padded rows: for `.nt` (Q·Kᵀ, dO·Vᵀ) and for N not a
// multiple of 16 it is first copied (transposed for `.nt`) into a zero-padded K×N₁₆ scratch.
// Reference: `gemmReference` (same arguments and semantics).
//
// Measured (Zen 4, 1 thread, 256 hot-cache products, same run; the machine was shared, so ratios
// matter more than absolutes): decoder shapes 129×129×32 NT 76 vs 71 GFLOP/s for the packed
// `gemm`, 129×32×129 NN 113 vs 102, TN 112 vs 71 (34 in a contended run). In the attention layer
// (fwd+bwd, B = 64) the per-head part takes 3 % (decoder) to 18 % (encoder) less time than with
// `gemm`; the qkv/proj linears take 50–80 % of the layer.

/// C[M×N] = alpha · op(A) · op(B) + (accumulate ? C : 0), `gemm`'s layouts and arguments, on
/// one thread. For the small products of attention (M, N ≲ 256, K ≲ 256); any size is correct.
/// Each C element is one FMA chain over p in increasing order, so results do not depend on how
/// the caller splits work, but differ in the last bits from `gemm` and `gemmReference`.
public func attentionGEMM(_ layout: GEMMLayout, m: Int, n: Int, k: Int, alpha: Float = 1,
                          a: UnsafeBufferPointer<Float>, lda: Int, b: UnsafeBufferPointer<Float>, ldb: Int,
                          c: UnsafeMutableBufferPointer<Float>, ldc: Int, accumulate: Bool) {
    checkGEMMArguments(layout, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
    guard m > 0, n > 0 else { return }
    guard k > 0 else {
        if !accumulate { zeroGEMMOutput(m: m, n: n, c: c, ldc: ldc) }
        return
    }
    let (aRowStride, aColumnStride) = layout == .tn ? (1, lda) : (lda, 1)
    var operands = AttentionGEMMOperands(m: m, n: n, k: k, alpha: alpha, a: a.baseAddress!, aRowStride: aRowStride,
                                         aColumnStride: aColumnStride, b: b.baseAddress!, ldb: ldb,
                                         c: c.baseAddress!, ldc: ldc, accumulate: accumulate)
    guard layout == .nt || n % 16 != 0 else {
        operands.run()
        return
    }
    let paddedN = (n + 15) / 16 * 16
    withUnsafeTemporaryAllocation(of: Float.self, capacity: k * paddedN) { scratch in
        let s = scratch.baseAddress!, source = b.baseAddress!
        for p in 0..<k {
            let row = s + p * paddedN
            if layout == .nt {
                for j in 0..<n { row[j] = source[j * ldb + p] }
            } else {
                row.update(from: source + p * ldb, count: n)
            }
            (row + n).initialize(repeating: 0, count: paddedN - n)
        }
        operands.b = UnsafePointer(s)
        operands.ldb = paddedN
        operands.run()
    }
}

// MARK: - Tiles

/// The problem as raw pointers: op(A)[i, p] = a[i·aRowStride + p·aColumnStride]; B is K×N
/// row-major with every row readable up to N rounded up to 16.
private struct AttentionGEMMOperands {
    let m: Int, n: Int, k: Int, alpha: Float
    let a: UnsafePointer<Float>, aRowStride: Int, aColumnStride: Int
    var b: UnsafePointer<Float>, ldb: Int
    let c: UnsafeMutablePointer<Float>, ldc: Int
    let accumulate: Bool

    /// Column panels of up to 64 (4 vectors) or 48; rows in tiles of 4 (for 3–4 vectors) or 8 (for 1–2),
    /// at most 16 accumulators, which with the B vectors and broadcasts fit the 32 AVX-512
    /// registers (AVX2 builds spill some; still correct); remainder rows one at a time.
    func run() {
        // 48-column panels when they tile N exactly and 64-column ones do not (N = 144, attention's
        // padded 129 keys: 3 panels of 4×3 tiles instead of 4×4, 4×4 and a broadcast-bound 8×1 panel).
        let vectors = (n + 15) / 16
        let width = vectors % 4 != 0 && vectors % 3 == 0 ? 48 : 64
        var j0 = 0
        while j0 < n {
            let columns = min(width, n - j0)
            switch (columns + 15) / 16 {
            case 4: panel(Tile<Four, Four>.self, Tile<One, Four>.self, j0: j0, columns: columns)
            case 3: panel(Tile<Four, Three>.self, Tile<One, Three>.self, j0: j0, columns: columns)
            case 2: panel(Tile<Eight, Two>.self, Tile<One, Two>.self, j0: j0, columns: columns)
            default: panel(Tile<Eight, One>.self, Tile<One, One>.self, j0: j0, columns: columns)
            }
            j0 += width
        }
    }

    private func panel<Full: TileShape, Single: TileShape>(_: Full.Type, _: Single.Type, j0: Int, columns: Int) {
        var i0 = 0
        while i0 + Full.rows <= m {
            tile(Full.self, i0: i0, j0: j0, columns: columns)
            i0 += Full.rows
        }
        while i0 < m {
            tile(Single.self, i0: i0, j0: j0, columns: columns)
            i0 += 1
        }
    }

    /// C[i0 ..< i0+rows, j0 ..< j0+columns] from one register tile. `Shape.rows` ≤ 8 and
    /// `Shape.vectors` ≤ 4 are constants of the specialisation, so the unused accumulators and
    /// branches disappear.
    @inline(__always)
    private func tile<Shape: TileShape>(_: Shape.Type, i0: Int, j0: Int, columns: Int) {
        let rows = Shape.rows, vectors = Shape.vectors
        var r0 = TileRow(), r1 = TileRow(), r2 = TileRow(), r3 = TileRow()
        var r4 = TileRow(), r5 = TileRow(), r6 = TileRow(), r7 = TileRow()
        var ap = a + i0 * aRowStride, bp = b + j0
        let s = aRowStride
        for _ in 0..<k {
            let row = TileB(bp, vectors)
            r0.add(ap[0], row, vectors)
            if rows > 1 { r1.add(ap[s], row, vectors) }
            if rows > 2 { r2.add(ap[2 &* s], row, vectors) }
            if rows > 3 { r3.add(ap[3 &* s], row, vectors) }
            if rows > 4 { r4.add(ap[4 &* s], row, vectors) }
            if rows > 5 { r5.add(ap[5 &* s], row, vectors) }
            if rows > 6 { r6.add(ap[6 &* s], row, vectors) }
            if rows > 7 { r7.add(ap[7 &* s], row, vectors) }
            ap += aColumnStride
            bp += ldb
        }
        let out = c + i0 * ldc + j0
        r0.store(out, columns, vectors, alpha, accumulate)
        if rows > 1 { r1.store(out + ldc, columns, vectors, alpha, accumulate) }
        if rows > 2 { r2.store(out + 2 * ldc, columns, vectors, alpha, accumulate) }
        if rows > 3 { r3.store(out + 3 * ldc, columns, vectors, alpha, accumulate) }
        if rows > 4 { r4.store(out + 4 * ldc, columns, vectors, alpha, accumulate) }
        if rows > 5 { r5.store(out + 5 * ldc, columns, vectors, alpha, accumulate) }
        if rows > 6 { r6.store(out + 6 * ldc, columns, vectors, alpha, accumulate) }
        if rows > 7 { r7.store(out + 7 * ldc, columns, vectors, alpha, accumulate) }
    }
}

// MARK: - Tile shapes (compile-time constants through generic specialisation)

private protocol TileCount { static var value: Int { get } }
private enum One: TileCount { static var value: Int { 1 } }
private enum Two: TileCount { static var value: Int { 2 } }
private enum Three: TileCount { static var value: Int { 3 } }
private enum Four: TileCount { static var value: Int { 4 } }
private enum Eight: TileCount { static var value: Int { 8 } }

private protocol TileShape { static var rows: Int { get }; static var vectors: Int { get } }
/// A register tile of `Rows.value` rows × `Vectors.value` SIMD16 vectors.
private enum Tile<Rows: TileCount, Vectors: TileCount>: TileShape {
    static var rows: Int { Rows.value }
    static var vectors: Int { Vectors.value }
}

/// Up to four SIMD16 vectors of one row of B.
private struct TileB {
    var v0: SIMD16<Float>, v1 = SIMD16<Float>(), v2 = SIMD16<Float>(), v3 = SIMD16<Float>()

    @inline(__always)
    init(_ row: UnsafePointer<Float>, _ vectors: Int) {
        v0 = loadVector(row, 0)
        if vectors > 1 { v1 = loadVector(row, 16) }
        if vectors > 2 { v2 = loadVector(row, 32) }
        if vectors > 3 { v3 = loadVector(row, 48) }
    }
}

/// The accumulators of one row of a tile (up to 64 columns).
private struct TileRow {
    var v0 = SIMD16<Float>(), v1 = SIMD16<Float>(), v2 = SIMD16<Float>(), v3 = SIMD16<Float>()

    @inline(__always)
    mutating func add(_ a: Float, _ b: TileB, _ vectors: Int) {
        let broadcast = SIMD16<Float>(repeating: a)
        v0 = v0.addingProduct(broadcast, b.v0)
        if vectors > 1 { v1 = v1.addingProduct(broadcast, b.v1) }
        if vectors > 2 { v2 = v2.addingProduct(broadcast, b.v2) }
        if vectors > 3 { v3 = v3.addingProduct(broadcast, b.v3) }
    }

    /// out[0 ..< columns] = alpha·acc (+ out): whole vectors, the last one lane by lane if partial.
    @inline(__always)
    func store(_ out: UnsafeMutablePointer<Float>, _ columns: Int, _ vectors: Int, _ alpha: Float, _ accumulate: Bool) {
        let scaled = SIMD16<Float>(repeating: alpha)
        for index in 0..<vectors {
            let value = scaled * (index == 0 ? v0 : index == 1 ? v1 : index == 2 ? v2 : v3)
            let start = index &* 16, valid = min(16, columns &- start)
            if valid == 16 {
                storeVector(accumulate ? loadVector(UnsafePointer(out), start) + value : value, out, start)
            } else {
                for lane in 0..<valid {
                    out[start &+ lane] = accumulate ? out[start &+ lane] + value[lane] : value[lane]
                }
            }
        }
    }
}
