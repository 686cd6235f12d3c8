// MARK: - Block sizes and the task grid (pure functions of the shape)

/// How one `gemm` call is cut into cache blocks and parallel tasks.
///
/// Everything here depends on (layout, m, n, k) only, never on the thread count, and K is never
/// split across tasks: every C element sees the same K blocks in the same order whatever the pool,
/// which is what makes results bit-identical for any thread count.
struct GEMMBlocking {
    /// Tasks an output block is cut into at least (when the shape allows): enough to balance
    /// 2–4 threads through the pool's dynamic task queue.
    static let minimumTasks = 8
    /// Packed B blocks smaller than this are packed by the calling thread: waking the pool costs
    /// more than packing a few thousand floats.
    static let parallelPackingFloats = 16_384
    /// Problems with fewer multiply-adds (m·n·k) than this run as one task: a pool wake-up costs
    /// more than it saves (2 threads vs 1: 64³ 31 vs 91 GFLOP/s, 17×64×17 29 vs 43; 128³ gains, 149 vs 106).
    static let minimumParallelWork = 1 << 20
    /// Row panels of `mr` per task along M.
    static let panelsPerRowTask = 16

    /// K block length; `k` is cut into equal blocks (the last may be shorter) of at most `kcMax`.
    let kc: Int
    /// N block width (a multiple of `nr`): one packed kc×nc block of B fits `bBlockBytes`.
    let nc: Int
    /// Rows of C per task (a multiple of `mr`).
    let rowsPerTask: Int
    /// B panels (`nr` columns each) per task within one N block.
    let panelsPerTask: Int
    /// Whether full row panels of A are read in place (row-major op(A): NN and NT) instead of packed.
    /// The kernel broadcasts one A value per row and step, so 8 row streams read in place cost the
    /// same as a packed panel, and the strided transpose that packing needs is saved. That transpose
    /// was the N = 192 weak spot: each packed A element feeds only 2·N flops. Paired ratio to
    /// OpenBLAS at 1 thread (znver4, two idle runs each): 4096×192×192 NN 0.91–0.96 packed vs
    /// 1.09–1.10 in place, 4096×192×768 NN 0.99–1.03 vs 1.11, 4096×192×192 NT 0.94–1.01 vs 1.06–1.07.
    /// TN keeps packing: its op(A) rows are columns of the stored matrix (stride lda per step, which
    /// thrashes cache sets when read repeatedly), and that copy is contiguous per step anyway.
    let readsAInPlace: Bool

    init(_ layout: GEMMLayout, m: Int, n: Int, k: Int) {
        let mr = GEMMMicroKernel.mr, nr = GEMMMicroKernel.nr
        let kBlocks = ceilDiv(k, GEMMMicroKernel.kcMax)
        kc = ceilDiv(k, kBlocks)
        let ncMax = max(nr, GEMMMicroKernel.bBlockBytes / (MemoryLayout<Float>.stride * kc) / nr * nr)
        let nBlocks = ceilDiv(n, ncMax)
        nc = ceilDiv(ceilDiv(n, nBlocks), nr) * nr
        let panels = ceilDiv(min(nc, n), nr)
        if m * n * k < Self.minimumParallelWork {
            rowsPerTask = ceilDiv(m, mr) * mr
            panelsPerTask = panels
        } else {
            rowsPerTask = Self.panelsPerRowTask * mr
            let rowTasks = ceilDiv(m, rowsPerTask)
            let columnTasks = min(panels, max(1, ceilDiv(Self.minimumTasks, rowTasks)))
            panelsPerTask = ceilDiv(panels, columnTasks)
        }
        readsAInPlace = layout != .tn
    }
}

@inline(__always)
func ceilDiv(_ a: Int, _ b: Int) -> Int {
    (a + b - 1) / b
}
