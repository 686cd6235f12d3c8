// Shared plumbing of the non-GEMM kernels: unaligned SIMD16 loads/stores from raw pointers, and the
// ways kernels split work over a `ThreadPool` without changing results.

// MARK: - Tuning constants

/// Elements per task of the elementwise kernels (64 KiB of floats). A multiple of 16, so a task
/// boundary never splits a vector, and the split never changes any value.
let elementwiseTaskElements = 16_384

/// Approximate elements per task of the row kernels; a task takes whole rows.
let rowTaskElements = 16_384

/// Rows per partial sum of the column reductions (bias gradient, LayerNorm dγ/dβ, column sums).
/// Fixed, never derived from the thread count: the blocks' partials are added in block order, so
/// the result is bit-identical for any pool (SYSTEM.md §4).
let reductionBlockRows = 64

// MARK: - Argument checks

/// Traps with a message naming the kernel and argument when `available < needed`.
@inline(__always)
func requireCount(_ available: Int, _ needed: Int, _ kernel: StaticString, _ argument: StaticString) {
    precondition(available >= needed, "\(kernel): \(argument) has \(available) elements, needs \(needed)")
}

// MARK: - Vector access

@inline(__always)
func loadVector(_ base: UnsafePointer<Float>, _ offset: Int) -> SIMD16<Float> {
    UnsafeRawPointer(base + offset).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always)
func storeVector(_ value: SIMD16<Float>, _ base: UnsafeMutablePointer<Float>, _ offset: Int) {
    UnsafeMutableRawPointer(base + offset).storeBytes(of: value, as: SIMD16<Float>.self)
}

// MARK: - Horizontal reductions

/// Σ lanes as a fixed pairwise tree (halves added lanewise: 16 → 8 → 4 → 2 → 1). The stdlib's
/// `sum()` is a chain of 15 dependent scalar adds; the tree has depth 4. Fixed order: deterministic.
@inline(__always)
func horizontalSum(_ v: SIMD16<Float>) -> Float {
    let eight = v.lowHalf + v.highHalf
    let four = eight.lowHalf + eight.highHalf
    let two = four.lowHalf + four.highHalf
    return two.x + two.y
}

/// max over lanes (order-independent).
@inline(__always)
func horizontalMax(_ v: SIMD16<Float>) -> Float {
    let eight = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .> v.lowHalf)
    let four = eight.lowHalf.replacing(with: eight.highHalf, where: eight.highHalf .> eight.lowHalf)
    let two = four.lowHalf.replacing(with: four.highHalf, where: four.highHalf .> four.lowHalf)
    return max(two.x, two.y)
}

// MARK: - Lanewise min / max

// The stdlib's `pointwiseMax` on SIMD16<Float> compiles to an outlined lane loop; compare-and-select
// compiles to one vector compare and blend.

/// max(a, b) lanewise (b where b > a, else a).
@inline(__always)
func lanewiseMax(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    a.replacing(with: b, where: b .> a)
}

// MARK: - Work splitting

/// Runs `body(start, count)` over `0..<count` in tasks of `elementwiseTaskElements` elements, on
/// `pool` when given and worth it. Elementwise kernels compute every element the same way wherever
/// a task starts, so the result does not depend on the pool.
@inline(__always)
func forEachElementChunk(_ count: Int, pool: ThreadPool?, _ body: (_ start: Int, _ count: Int) -> Void) {
    guard count > 0 else { return }
    if let pool, pool.threadCount > 1, count > elementwiseTaskElements {
        pool.parallelFor(range: count, grain: elementwiseTaskElements) { range, _ in
            body(range.lowerBound, range.count)
        }
    } else {
        body(0, count)
    }
}

/// Runs `body(rowRange)` over `0..<rows` in tasks of whole rows (about `rowTaskElements` elements
/// each). Only for kernels whose rows are independent, so the split never changes a result.
@inline(__always)
func forEachRowChunk(rows: Int, columns: Int, pool: ThreadPool?, _ body: (Range<Int>) -> Void) {
    guard rows > 0 else { return }
    let grain = max(1, rowTaskElements / max(columns, 1))
    if let pool, pool.threadCount > 1, rows > grain {
        pool.parallelFor(range: rows, grain: grain) { range, _ in body(range) }
    } else {
        body(0..<rows)
    }
}

/// Deterministic sum over rows of per-row contributions of `width` floats.
///
/// `block(rowRange, partial)` adds the contributions of the rows in `rowRange` (at most
/// `reductionBlockRows`, always the same fixed blocks) into `partial` (`width` floats, zeroed).
/// Blocks may run in parallel; their partials are then added in block order, and `finish(total)`
/// receives the sum. Nothing is called when `rows == 0`.
func reduceOverRowBlocks(
    rows: Int, width: Int, pool: ThreadPool?,
    block: (_ rows: Range<Int>, _ partial: UnsafeMutablePointer<Float>) -> Void,
    finish: (_ total: UnsafePointer<Float>) -> Void
) {
    guard rows > 0, width > 0 else { return }
    let blockCount = (rows + reductionBlockRows - 1) / reductionBlockRows
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: blockCount * width)
    defer { scratch.deallocate() }
    scratch.initialize(repeating: 0, count: blockCount * width)
    if let pool, blockCount > 1 {
        pool.parallelFor(blockCount) { index, _ in
            let start = index * reductionBlockRows
            block(start..<min(start + reductionBlockRows, rows), scratch + index * width)
        }
    } else {
        for index in 0..<blockCount {
            let start = index * reductionBlockRows
            block(start..<min(start + reductionBlockRows, rows), scratch + index * width)
        }
    }
    for index in 1..<max(blockCount, 1) {
        addRow(UnsafePointer(scratch + index * width), into: scratch, count: width)
    }
    finish(UnsafePointer(scratch))
}

/// y[0..<count] += x[0..<count] on raw pointers (SIMD16 with a scalar tail).
@inline(__always)
func addRow(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    var index = 0
    while index &+ 16 <= count {
        storeVector(loadVector(UnsafePointer(y), index) + loadVector(x, index), y, index)
        index &+= 16
    }
    while index < count {
        y[index] += x[index]
        index &+= 1
    }
}
