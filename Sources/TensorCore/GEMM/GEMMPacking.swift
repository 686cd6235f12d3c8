// MARK: - Packing A into MR-row panels and B into NR-column panels

/// Packs rows p0..<p0+kc, columns j0..<j0+cols of op(B) as one NR-column panel:
/// `dst[p * nr + j] = B(p0 + p, j0 + j)`, and zero for `cols ≤ j < nr` (so edge panels run the
/// same kernel). `dst` holds kc·nr floats, 64-byte aligned.
func packBPanel(_ b: GEMMOperand, p0: Int, kc: Int, j0: Int, cols: Int, into dst: UnsafeMutablePointer<Float>) {
    let nr = GEMMMicroKernel.nr
    if b.colStride == 1 && cols == nr {
        // Row-major B (NN, TN): each p is a contiguous run of nr floats.
        let raw = UnsafeMutableRawPointer(dst)
        for p in 0..<kc {
            let src = UnsafeRawPointer(b.pointer(row: p0 + p, col: j0))
            for v in stride(from: 0, to: nr * 4, by: 64) {
                raw.storeBytes(of: src.loadUnaligned(fromByteOffset: v, as: SIMD16<Float>.self),
                               toByteOffset: p &* nr &* 4 &+ v, as: SIMD16<Float>.self)
            }
        }
        return
    }
    if cols < nr { dst.update(repeating: 0, count: kc * nr) }
    if b.colStride == 1 {
        for p in 0..<kc {
            let src = b.pointer(row: p0 + p, col: j0)
            for j in 0..<cols { dst[p &* nr &+ j] = src[j] }
        }
    } else {
        // B stored transposed (NT): column j of op(B) is a contiguous row of the stored matrix.
        let rowStep = b.colStride
        for p in 0..<kc {
            let src = b.pointer(row: p0 + p, col: j0)
            for j in 0..<cols { dst[p &* nr &+ j] = src[j &* rowStep] }
        }
    }
}

/// Packs rows i0..<i0+rows, columns p0..<p0+kc of op(A) as one MR-row panel:
/// `dst[p * mr + r] = A(i0 + r, p0 + p)`, and zero for `rows ≤ r < mr`. `dst` holds kc·mr floats.
func packAPanel(_ a: GEMMOperand, i0: Int, rows: Int, p0: Int, kc: Int, into dst: UnsafeMutablePointer<Float>) {
    let mr = GEMMMicroKernel.mr
    if rows < mr { dst.update(repeating: 0, count: kc * mr) }
    if a.rowStride == 1 && rows == mr && mr == 8 {
        // A stored transposed (TN), full panel: for each p the panel's 8 rows are one contiguous run,
        // moved as one 8-float vector (the element-wise loop below was ~7 % of a training step).
        let raw = UnsafeMutableRawPointer(dst)
        for p in 0..<kc {
            let src = UnsafeRawPointer(a.pointer(row: i0, col: p0 + p))
            raw.storeBytes(of: src.loadUnaligned(as: SIMD8<Float>.self), toByteOffset: p &* 32, as: SIMD8<Float>.self)
        }
    } else if a.rowStride == 1 {
        // A stored transposed (TN): for each p the panel's rows are contiguous.
        for p in 0..<kc {
            let src = a.pointer(row: i0, col: p0 + p)
            for r in 0..<rows { dst[p &* mr &+ r] = src[r] }
        }
    } else {
        let lda = a.rowStride
        let src = a.pointer(row: i0, col: p0)
        for p in 0..<kc {
            for r in 0..<rows { dst[p &* mr &+ r] = src[r &* lda &+ p] }
        }
    }
}

/// Two full MR-row panels of a transposed op(A) (TN, `a.rowStride == 1`) in one sweep: rows
/// i0..<i0+mr into `dst`, rows i0+mr..<i0+2·mr into `next`, same layout as `packAPanel`. For each p the
/// 2·mr rows are one contiguous run (one cache line for mr = 8), so A is read once instead of twice.
func packAPanelPair(_ a: GEMMOperand, i0: Int, p0: Int, kc: Int, into dst: UnsafeMutablePointer<Float>,
                    next: UnsafeMutablePointer<Float>) {
    let mr = GEMMMicroKernel.mr
    precondition(a.rowStride == 1, "packAPanelPair: A must be stored transposed (TN)")
    guard mr == 8 else {
        packAPanel(a, i0: i0, rows: mr, p0: p0, kc: kc, into: dst)
        packAPanel(a, i0: i0 + mr, rows: mr, p0: p0, kc: kc, into: next)
        return
    }
    let first = UnsafeMutableRawPointer(dst), second = UnsafeMutableRawPointer(next)
    for p in 0..<kc {
        let run = UnsafeRawPointer(a.pointer(row: i0, col: p0 + p)).loadUnaligned(as: SIMD16<Float>.self)
        first.storeBytes(of: run.lowHalf, toByteOffset: p &* 32, as: SIMD8<Float>.self)
        second.storeBytes(of: run.highHalf, toByteOffset: p &* 32, as: SIMD8<Float>.self)
    }
}
