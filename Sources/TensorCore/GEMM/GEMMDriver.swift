// MARK: - The Goto/BLIS loop nest, scratch memory and threading

/// Runs a validated problem with m, n, k > 0.
///
/// Loop nest (outer to inner): N blocks of `nc` → K blocks of `kc` → [pack this kc×nc block of B
/// once, shared read-only by all threads] → tasks over (row range, panel range) of C → A row panel
/// (read in place or packed into the thread's own scratch) → B panels → `mr×nr` register tile.
/// Each C element belongs to exactly one task per K block, and K blocks run in order.
func runGEMM(_ problem: GEMMProblem, pool: ThreadPool?) {
    let mr = GEMMMicroKernel.mr, nr = GEMMMicroKernel.nr
    let plan = GEMMBlocking(problem.layout, m: problem.m, n: problem.n, k: problem.k)
    let threads = pool?.threadCount ?? 1
    let scratch = GEMMScratch(bFloats: plan.kc * plan.nc, threadFloats: 2 * plan.kc * mr + mr * nr,
                              threads: threads)
    defer { scratch.free() }

    let rowTasks = ceilDiv(problem.m, plan.rowsPerTask)
    for jc in stride(from: 0, to: problem.n, by: plan.nc) {
        let nc = min(plan.nc, problem.n - jc)
        let panels = ceilDiv(nc, nr)
        let columnTasks = ceilDiv(panels, plan.panelsPerTask)
        for pc in stride(from: 0, to: problem.k, by: plan.kc) {
            let kc = min(plan.kc, problem.k - pc)
            forEachTask(kc * nc >= GEMMBlocking.parallelPackingFloats ? pool : nil, panels) { panel, _ in
                let j = panel * nr
                packBPanel(problem.b, p0: pc, kc: kc, j0: jc + j, cols: min(nr, nc - j),
                           into: scratch.b + panel * kc * nr)
            }
            let block = GEMMBlock(jc: jc, nc: nc, pc: pc, kc: kc, loadC: problem.accumulate || pc > 0,
                                  packedB: UnsafePointer(scratch.b))
            forEachTask(pool, rowTasks * columnTasks) { task, thread in
                let rowStart = (task / columnTasks) * plan.rowsPerTask
                let panelStart = (task % columnTasks) * plan.panelsPerTask
                runTask(problem, block, plan: plan,
                        rows: rowStart..<min(rowStart + plan.rowsPerTask, problem.m),
                        panels: panelStart..<min(panelStart + plan.panelsPerTask, panels),
                        scratch: scratch.thread(thread))
            }
        }
    }
}

/// One (N block, K block) step: where its packed B lives and whether C is read back.
struct GEMMBlock {
    let jc: Int
    let nc: Int
    let pc: Int
    let kc: Int
    /// Add to C (accumulating call, or any K block after the first) instead of overwriting it.
    let loadC: Bool
    let packedB: UnsafePointer<Float>
}

/// C rows `rows` × B panels `panels` of one block: the macro-kernel.
private func runTask(_ problem: GEMMProblem, _ block: GEMMBlock, plan: GEMMBlocking,
                     rows: Range<Int>, panels: Range<Int>, scratch: UnsafeMutablePointer<Float>) {
    let mr = GEMMMicroKernel.mr, nr = GEMMMicroKernel.nr
    let kc = block.kc
    let aPanel = scratch, nextAPanel = scratch + kc * mr
    let edgeTile = scratch + 2 * kc * mr
    var nextPacked = false              // nextAPanel holds the panel at i (packed with the one before)
    for i in stride(from: rows.lowerBound, to: rows.upperBound, by: mr) {
        let panelRows = min(mr, rows.upperBound - i)
        var aPointer = UnsafePointer(aPanel), aRow = 1, aStep = mr
        if panelRows == mr && plan.readsAInPlace {
            aPointer = problem.a.pointer(row: i, col: block.pc)
            aRow = problem.a.rowStride
            aStep = problem.a.colStride
        } else if nextPacked {
            aPointer = UnsafePointer(nextAPanel)
            nextPacked = false
        } else if problem.a.rowStride == 1 && rows.upperBound - i >= 2 * mr {
            // Transposed A (TN): two panels per sweep read each cache line of A once, not twice.
            packAPanelPair(problem.a, i0: i, p0: block.pc, kc: kc, into: aPanel, next: nextAPanel)
            nextPacked = true
        } else {
            packAPanel(problem.a, i0: i, rows: panelRows, p0: block.pc, kc: kc, into: aPanel)
        }
        for panel in panels {
            let j = block.jc + panel * nr
            let panelCols = min(nr, block.jc + block.nc - j)
            let b = block.packedB + panel * kc * nr
            let c = problem.c + (i * problem.ldc + j)
            if panelRows == mr && panelCols == nr {
                GEMMMicroKernel.tile(kc: kc, a: aPointer, aRow: aRow, aStep: aStep, b: b,
                                     c: c, ldc: problem.ldc, alpha: problem.alpha, loadC: block.loadC)
            } else {
                // Edge: the same kernel on a padded mr×nr scratch tile, then copy the valid part.
                copyTile(from: UnsafePointer(c), problem.ldc, to: edgeTile, nr, rows: panelRows, cols: panelCols,
                         zeroing: true)
                GEMMMicroKernel.tile(kc: kc, a: aPointer, aRow: aRow, aStep: aStep, b: b,
                                     c: edgeTile, ldc: nr, alpha: problem.alpha, loadC: block.loadC)
                copyTile(from: UnsafePointer(edgeTile), nr, to: c, problem.ldc, rows: panelRows, cols: panelCols,
                         zeroing: false)
            }
        }
    }
}

/// Copies a rows×cols tile; with `zeroing`, first clears the whole mr×nr destination tile.
private func copyTile(from src: UnsafePointer<Float>, _ lds: Int, to dst: UnsafeMutablePointer<Float>, _ ldd: Int,
                      rows: Int, cols: Int, zeroing: Bool) {
    if zeroing { dst.update(repeating: 0, count: GEMMMicroKernel.mr * GEMMMicroKernel.nr) }
    for r in 0..<rows {
        (dst + r * ldd).update(from: src + r * lds, count: cols)
    }
}

/// `body(task, thread)` for every task, on the pool when there is one.
@inline(__always)
private func forEachTask(_ pool: ThreadPool?, _ count: Int, _ body: (Int, Int) -> Void) {
    if let pool {
        pool.parallelFor(count, body)
    } else {
        for task in 0..<count { body(task, 0) }
    }
}

/// Per-call scratch: one packed B block shared by all threads, and per thread an A panel plus an
/// edge tile. Allocated per call, so concurrent `gemm` calls never share it; 64-byte aligned.
private struct GEMMScratch {
    let b: UnsafeMutablePointer<Float>
    private let threadBase: UnsafeMutablePointer<Float>
    private let threadStride: Int

    init(bFloats: Int, threadFloats: Int, threads: Int) {
        let bStride = ceilDiv(bFloats, 16) * 16
        threadStride = ceilDiv(threadFloats, 16) * 16
        let total = bStride + threadStride * threads
        let raw = UnsafeMutableRawPointer.allocate(byteCount: total * MemoryLayout<Float>.stride,
                                                   alignment: FloatStorage.alignment)
        b = raw.bindMemory(to: Float.self, capacity: total)
        threadBase = b + bStride
    }

    /// The A panel (kc·mr floats) followed by the edge tile (mr·nr floats) of pool thread `index`.
    func thread(_ index: Int) -> UnsafeMutablePointer<Float> {
        threadBase + index * threadStride
    }

    func free() {
        UnsafeMutableRawPointer(b).deallocate()
    }
}
