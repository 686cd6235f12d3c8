// Reductions of an R×C matrix: over rows (→ [C]) and over columns (→ [R]), and the total of a buffer.
// All are deterministic: row sums use fixed blocks of `reductionBlockRows` rows added in block order,
// column sums are per row, totals use fixed blocks of `totalSumBlockElements`; none depends on the pool.
// These overwrite their output (they are forward reductions, not gradient accumulations).

/// Elements per partial sum of `totalSum`.
let totalSumBlockElements = 4_096

// MARK: - Over rows

/// out[c] = Σ_r X[r, c] (overwrites out).
/// Shapes: x [R×C], out [C] with R = `rows`, C = `columns`.
public func sumOverRows(
    _ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
    rows: Int, columns: Int, pool: ThreadPool? = nil
) {
    requireCount(x.count, rows * columns, "sumOverRows", "x")
    requireCount(out.count, columns, "sumOverRows", "out")
    guard columns > 0 else { return }
    let op = out.baseAddress!
    op.update(repeating: 0, count: columns)
    guard rows > 0 else { return }
    let xp = x.baseAddress!
    reduceOverRowBlocks(rows: rows, width: columns, pool: pool) { range, partial in
        for r in range { addRow(xp + r &* columns, into: partial, count: columns) }
    } finish: { total in
        op.update(from: total, count: columns)
    }
}

/// out[c] = (1/R)·Σ_r X[r, c] (overwrites out; zeros when R = 0).
/// Shapes: x [R×C], out [C].
public func meanOverRows(
    _ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
    rows: Int, columns: Int, pool: ThreadPool? = nil
) {
    sumOverRows(x, into: out, rows: rows, columns: columns, pool: pool)
    if rows > 0 { scaleInPlace(out, by: 1 / Float(rows), count: columns) }
}

// MARK: - Over columns

/// out[r] = Σ_c X[r, c] (overwrites out).
/// Shapes: x [R×C], out [R] with R = `rows`, C = `columns`.
public func sumOverColumns(
    _ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
    rows: Int, columns: Int, pool: ThreadPool? = nil
) {
    requireCount(x.count, rows * columns, "sumOverColumns", "x")
    requireCount(out.count, rows, "sumOverColumns", "out")
    guard rows > 0 else { return }
    let op = out.baseAddress!
    guard columns > 0 else { op.update(repeating: 0, count: rows); return }
    let xp = x.baseAddress!
    forEachRowChunk(rows: rows, columns: columns, pool: pool) { range in
        for r in range { op[r] = rowSum(xp + r &* columns, columns) }
    }
}

/// out[r] = (1/C)·Σ_c X[r, c] (overwrites out; zeros when C = 0).
/// Shapes: x [R×C], out [R].
public func meanOverColumns(
    _ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
    rows: Int, columns: Int, pool: ThreadPool? = nil
) {
    sumOverColumns(x, into: out, rows: rows, columns: columns, pool: pool)
    if columns > 0 { scaleInPlace(out, by: 1 / Float(columns), count: rows) }
}

// MARK: - Total

/// Σ_i x[i] over the first `count` elements, as Double: Float SIMD sums over fixed blocks of
/// `totalSumBlockElements` (in parallel when a pool is given), then the block sums added in order in Double.
/// Shapes: x [N] with N = `count`.
public func totalSum(_ x: UnsafeBufferPointer<Float>, count: Int, pool: ThreadPool? = nil) -> Double {
    requireCount(x.count, count, "totalSum", "x")
    guard count > 0 else { return 0 }
    let xp = x.baseAddress!
    let blocks = (count + totalSumBlockElements - 1) / totalSumBlockElements
    let partials = UnsafeMutableBufferPointer<Double>.allocate(capacity: blocks)
    defer { partials.deallocate() }
    let body = { (block: Int) -> Double in
        let start = block * totalSumBlockElements
        return Double(rowSum(xp + start, min(totalSumBlockElements, count - start)))
    }
    if let pool, blocks > 1 {
        pool.parallelFor(blocks) { block, _ in partials[block] = body(block) }
    } else {
        for block in 0..<blocks { partials[block] = body(block) }
    }
    return partials.reduce(0, +)
}

// MARK: - References

/// Reference of `sumOverRows` (Double sums). Shapes: x [R×C], out [C].
public func sumOverRowsReference(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
                                 rows: Int, columns: Int) {
    for c in 0..<columns {
        out[c] = Float((0..<rows).reduce(0.0) { $0 + Double(x[$1 * columns + c]) })
    }
}

/// Reference of `sumOverColumns` (Double sums). Shapes: x [R×C], out [R].
public func sumOverColumnsReference(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
                                    rows: Int, columns: Int) {
    for r in 0..<rows {
        out[r] = Float((0..<columns).reduce(0.0) { $0 + Double(x[r * columns + $1]) })
    }
}

/// Reference of `totalSum` (sequential Double sum). Shapes: x [N].
public func totalSumReference(_ x: UnsafeBufferPointer<Float>, count: Int) -> Double {
    (0..<count).reduce(0.0) { $0 + Double(x[$1]) }
}
