// Bias of a linear layer: broadcast add over rows, and its backward (a deterministic column sum).

// MARK: - Forward

/// Y[r, c] += bias[c] for every row (in place, after the GEMM has written Y).
/// Shapes: y [R×C], bias [C] with R = `rows`, C = `columns`.
public func biasAddForward(
    _ y: UnsafeMutableBufferPointer<Float>, bias: UnsafeBufferPointer<Float>,
    rows: Int, columns: Int, pool: ThreadPool? = nil
) {
    requireCount(y.count, rows * columns, "biasAddForward", "y")
    requireCount(bias.count, columns, "biasAddForward", "bias")
    guard rows > 0, columns > 0 else { return }
    let yp = y.baseAddress!, bp = bias.baseAddress!
    forEachRowChunk(rows: rows, columns: columns, pool: pool) { range in
        for r in range {
            addRow(bp, into: yp + r &* columns, count: columns)
        }
    }
}

// MARK: - Backward

/// Backward of `biasAddForward`: dBias[c] += Σ_r dY[r, c]. **Accumulates** into dBias.
/// Rows are summed in fixed blocks of `reductionBlockRows`, so the result is bit-identical for any pool.
/// Shapes: dY [R×C], dBias [C] with R = `rows`, C = `columns`.
public func biasAddBackward(
    dY: UnsafeBufferPointer<Float>, dBias: UnsafeMutableBufferPointer<Float>,
    rows: Int, columns: Int, pool: ThreadPool? = nil
) {
    requireCount(dY.count, rows * columns, "biasAddBackward", "dY")
    requireCount(dBias.count, columns, "biasAddBackward", "dBias")
    guard rows > 0, columns > 0 else { return }
    let dyp = dY.baseAddress!, dbp = dBias.baseAddress!
    reduceOverRowBlocks(rows: rows, width: columns, pool: pool) { range, partial in
        for r in range {
            addRow(dyp + r &* columns, into: partial, count: columns)
        }
    } finish: { total in
        addRow(total, into: dbp, count: columns)
    }
}
