// The MLP's fc1 epilogue fused into one pass over the hidden activations:
//   forward   H[r, c] += bias[c],  A[r, c] = GELU(H[r, c])
//   backward  G[r, c] ← G[r, c]·GELU'(H[r, c])  (in place: dA becomes dH),  dBias[c] += Σ_r G[r, c]
// Each element goes through exactly the operations of `biasAddForward` + `geluForward` (forward) and
// `geluBackward` into a zeroed dX + `biasAddBackward` (backward), so results are bit-identical to the
// unfused sequence; the bias sum uses the same fixed row blocks, bit-identical for any pool.

// MARK: - Forward

/// H += bias (broadcast over rows, in place), A = GELU(H).
/// Shapes: h [R×C], bias [C], activated [R×C] with R = `rows`, C = `columns`.
public func biasGELUForward(
    _ h: UnsafeMutableBufferPointer<Float>, bias: UnsafeBufferPointer<Float>,
    activated: UnsafeMutableBufferPointer<Float>, rows: Int, columns: Int, pool: ThreadPool? = nil
) {
    requireCount(h.count, rows * columns, "biasGELUForward", "h")
    requireCount(bias.count, columns, "biasGELUForward", "bias")
    requireCount(activated.count, rows * columns, "biasGELUForward", "activated")
    guard rows > 0, columns > 0 else { return }
    let hp = h.baseAddress!, bp = bias.baseAddress!, ap = activated.baseAddress!
    forEachRowChunk(rows: rows, columns: columns, pool: pool) { range in
        for r in range {
            let hRow = hp + r &* columns, aRow = ap + r &* columns
            for c in 0..<columns {
                let v = hRow[c] + bp[c]
                hRow[c] = v
                aRow[c] = v * normalCDFApproximation(v)
            }
        }
    }
}

// MARK: - Backward

/// Backward of `biasGELUForward`: G = dA·GELU'(H) written over dA (which then holds dH), and
/// dBias += Σ_rows dH (**accumulates**). h is the forward's H (bias already added).
/// Shapes: h [R×C], gradient [R×C] (in: dA, out: dH), dBias [C].
public func biasGELUBackward(
    _ h: UnsafeBufferPointer<Float>, gradient: UnsafeMutableBufferPointer<Float>,
    dBias: UnsafeMutableBufferPointer<Float>, rows: Int, columns: Int, pool: ThreadPool? = nil
) {
    requireCount(h.count, rows * columns, "biasGELUBackward", "h")
    requireCount(gradient.count, rows * columns, "biasGELUBackward", "gradient")
    requireCount(dBias.count, columns, "biasGELUBackward", "dBias")
    guard rows > 0, columns > 0 else { return }
    let hp = h.baseAddress!, gp = gradient.baseAddress!, dbp = dBias.baseAddress!
    reduceOverRowBlocks(rows: rows, width: columns, pool: pool) { range, partial in
        for r in range {
            let hRow = hp + r &* columns, gRow = gp + r &* columns
            for c in 0..<columns {
                let v = hRow[c]
                let slope = normalCDFApproximation(v) + v * normalPDFApproximation(v)
                gRow[c] = Float(0).addingProduct(gRow[c], slope)      // as geluBackward into a zeroed dX
            }
            addRow(gRow, into: partial, count: columns)
        }
    } finish: { total in
        addRow(total, into: dbp, count: columns)
    }
}

// MARK: - Reference

/// Reference of `biasGELUForward`: `biasAddForward` then `geluForwardReference` (Double, libm erf).
/// Shapes: h [R×C], bias [C], activated [R×C].
public func biasGELUForwardReference(
    _ h: UnsafeMutableBufferPointer<Float>, bias: UnsafeBufferPointer<Float>,
    activated: UnsafeMutableBufferPointer<Float>, rows: Int, columns: Int
) {
    for r in 0..<rows {
        for c in 0..<columns { h[r * columns + c] += bias[c] }
    }
    geluForwardReference(UnsafeBufferPointer(h), into: activated, count: rows * columns)
}

/// Reference of `biasGELUBackward`: `geluBackwardReference` into zeros, copied over the gradient, then
/// a plain Double column sum into dBias (accumulates).
/// Shapes: h [R×C], gradient [R×C] (in: dA, out: dH), dBias [C].
public func biasGELUBackwardReference(
    _ h: UnsafeBufferPointer<Float>, gradient: UnsafeMutableBufferPointer<Float>,
    dBias: UnsafeMutableBufferPointer<Float>, rows: Int, columns: Int
) {
    let count = rows * columns
    var dH = [Float](repeating: 0, count: count)
    dH.withUnsafeMutableBufferPointer { dHBuffer in
        geluBackwardReference(h, dY: UnsafeBufferPointer(gradient), dX: dHBuffer, count: count)
    }
    for i in 0..<count { gradient[i] = dH[i] }
    for c in 0..<columns {
        var sum = Double(dBias[c])
        for r in 0..<rows { sum += Double(dH[r * columns + c]) }
        dBias[c] = Float(sum)
    }
}
