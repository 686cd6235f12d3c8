// Row gather / scatter by index, for masking and unshuffling tokens:
//   gatherRows:     dst[n, :] = src[indices[n], :]
//   scatterRows:    dst[indices[n], :] = src[n, :]     (indices distinct; overwrite)
//   scatterAddRows: dst[indices[n], :] += src[n, :]    (the backward of gatherRows; duplicates allowed)
// Each has an Int32 and an Int overload. Indices are validated (trap with the offending position).

/// Columns per task of `scatterAddRows` (a multiple of 16): tasks own column slabs, so duplicate
/// indices are added in index order within every slab, whatever the pool.
let scatterAddTaskColumns = 64

// MARK: - Gather

/// dst[n, :] = src[indices[n], :] for n in 0..<N.
/// Shapes: src [R×C], indices [N] (each in 0..<R), dst [N×C] with R = `rows`, C = `columns`.
public func gatherRows(
    _ src: UnsafeBufferPointer<Float>, rows: Int, columns: Int, indices: UnsafeBufferPointer<Int32>,
    into dst: UnsafeMutableBufferPointer<Float>, pool: ThreadPool? = nil
) {
    gatherRowsImpl(src, rows: rows, columns: columns, indices: indices, into: dst, pool: pool)
}

/// `gatherRows` with `Int` indices.
public func gatherRows(
    _ src: UnsafeBufferPointer<Float>, rows: Int, columns: Int, indices: UnsafeBufferPointer<Int>,
    into dst: UnsafeMutableBufferPointer<Float>, pool: ThreadPool? = nil
) {
    gatherRowsImpl(src, rows: rows, columns: columns, indices: indices, into: dst, pool: pool)
}

private func gatherRowsImpl<Index: BinaryInteger>(
    _ src: UnsafeBufferPointer<Float>, rows: Int, columns: Int, indices: UnsafeBufferPointer<Index>,
    into dst: UnsafeMutableBufferPointer<Float>, pool: ThreadPool?
) {
    let count = indices.count
    requireCount(src.count, rows * columns, "gatherRows", "src")
    requireCount(dst.count, count * columns, "gatherRows", "dst")
    validateIndices(indices, below: rows, "gatherRows")
    guard count > 0, columns > 0 else { return }
    let sp = src.baseAddress!, dp = dst.baseAddress!
    forEachRowChunk(rows: count, columns: columns, pool: pool) { range in
        for n in range {
            (dp + n &* columns).update(from: sp + Int(indices[n]) &* columns, count: columns)
        }
    }
}

// MARK: - Scatter

/// dst[indices[n], :] = src[n, :] for n in 0..<N; other rows of dst are left alone.
/// Indices must be distinct (checked), so the result never depends on order.
/// Shapes: src [N×C], indices [N] (distinct, each in 0..<R), dst [R×C] with R = `rows`, C = `columns`.
public func scatterRows(
    _ src: UnsafeBufferPointer<Float>, indices: UnsafeBufferPointer<Int32>,
    into dst: UnsafeMutableBufferPointer<Float>, rows: Int, columns: Int, pool: ThreadPool? = nil
) {
    scatterRowsImpl(src, indices: indices, into: dst, rows: rows, columns: columns, pool: pool)
}

/// `scatterRows` with `Int` indices.
public func scatterRows(
    _ src: UnsafeBufferPointer<Float>, indices: UnsafeBufferPointer<Int>,
    into dst: UnsafeMutableBufferPointer<Float>, rows: Int, columns: Int, pool: ThreadPool? = nil
) {
    scatterRowsImpl(src, indices: indices, into: dst, rows: rows, columns: columns, pool: pool)
}

private func scatterRowsImpl<Index: BinaryInteger>(
    _ src: UnsafeBufferPointer<Float>, indices: UnsafeBufferPointer<Index>,
    into dst: UnsafeMutableBufferPointer<Float>, rows: Int, columns: Int, pool: ThreadPool?
) {
    let count = indices.count
    requireCount(src.count, count * columns, "scatterRows", "src")
    requireCount(dst.count, rows * columns, "scatterRows", "dst")
    validateIndices(indices, below: rows, "scatterRows", distinct: true)
    guard count > 0, columns > 0 else { return }
    let sp = src.baseAddress!, dp = dst.baseAddress!
    forEachRowChunk(rows: count, columns: columns, pool: pool) { range in
        for n in range {
            (dp + Int(indices[n]) &* columns).update(from: sp + n &* columns, count: columns)
        }
    }
}

/// dst[indices[n], :] += src[n, :] for n in 0..<N, in order of n (the backward of `gatherRows`).
/// **Accumulates** into dst. Duplicate indices are summed, deterministically for any pool.
/// Shapes: src [N×C], indices [N] (each in 0..<R), dst [R×C] with R = `rows`, C = `columns`.
public func scatterAddRows(
    _ src: UnsafeBufferPointer<Float>, indices: UnsafeBufferPointer<Int32>,
    into dst: UnsafeMutableBufferPointer<Float>, rows: Int, columns: Int, pool: ThreadPool? = nil
) {
    scatterAddRowsImpl(src, indices: indices, into: dst, rows: rows, columns: columns, pool: pool)
}

/// `scatterAddRows` with `Int` indices.
public func scatterAddRows(
    _ src: UnsafeBufferPointer<Float>, indices: UnsafeBufferPointer<Int>,
    into dst: UnsafeMutableBufferPointer<Float>, rows: Int, columns: Int, pool: ThreadPool? = nil
) {
    scatterAddRowsImpl(src, indices: indices, into: dst, rows: rows, columns: columns, pool: pool)
}

private func scatterAddRowsImpl<Index: BinaryInteger>(
    _ src: UnsafeBufferPointer<Float>, indices: UnsafeBufferPointer<Index>,
    into dst: UnsafeMutableBufferPointer<Float>, rows: Int, columns: Int, pool: ThreadPool?
) {
    let count = indices.count
    requireCount(src.count, count * columns, "scatterAddRows", "src")
    requireCount(dst.count, rows * columns, "scatterAddRows", "dst")
    validateIndices(indices, below: rows, "scatterAddRows")
    guard count > 0, columns > 0 else { return }
    let sp = src.baseAddress!, dp = dst.baseAddress!
    let slabs = (columns + scatterAddTaskColumns - 1) / scatterAddTaskColumns
    let addSlab = { (slab: Int) in
        let start = slab * scatterAddTaskColumns, width = min(scatterAddTaskColumns, columns - start)
        for n in 0..<count {
            addRow(sp + (n &* columns &+ start), into: dp + (Int(indices[n]) &* columns &+ start), count: width)
        }
    }
    if let pool, slabs > 1, count * columns > rowTaskElements {
        pool.parallelFor(slabs) { slab, _ in addSlab(slab) }
    } else {
        for slab in 0..<slabs { addSlab(slab) }
    }
}

// MARK: - Validation

/// Traps unless every index is in 0..<bound (and, if `distinct`, no index repeats).
private func validateIndices<Index: BinaryInteger>(
    _ indices: UnsafeBufferPointer<Index>, below bound: Int, _ kernel: StaticString, distinct: Bool = false
) {
    var seen = distinct ? [Bool](repeating: false, count: bound) : []
    for (position, index) in indices.enumerated() {
        precondition(index >= 0 && index < bound,
                     "\(kernel): indices[\(position)] = \(index) is outside 0..<\(bound)")
        if distinct {
            precondition(!seen[Int(index)], "\(kernel): index \(index) repeats at indices[\(position)]")
            seen[Int(index)] = true
        }
    }
}

// MARK: - References

/// Reference of `gatherRows`. Shapes: src [R×C], indices [N], dst [N×C].
public func gatherRowsReference(_ src: UnsafeBufferPointer<Float>, columns: Int, indices: [Int],
                                into dst: UnsafeMutableBufferPointer<Float>) {
    for (n, index) in indices.enumerated() {
        for c in 0..<columns { dst[n * columns + c] = src[index * columns + c] }
    }
}

/// Reference of `scatterAddRows` (accumulates, in order of n; covers `scatterRows` for distinct indices
/// on a zeroed dst). Shapes: src [N×C], indices [N], dst [R×C].
public func scatterAddRowsReference(_ src: UnsafeBufferPointer<Float>, indices: [Int],
                                    into dst: UnsafeMutableBufferPointer<Float>, columns: Int) {
    for (n, index) in indices.enumerated() {
        for c in 0..<columns { dst[index * columns + c] += src[n * columns + c] }
    }
}
