import Testing
import TensorCore
import TestSupport

@Suite struct BiasGELUTests {
    /// Forward against the Double reference: H exactly (one float add), A to 1e-6 + 1e-6·|A|.
    /// Backward: dH to 2e-6 + 1e-5·|dH|, dBias (a column sum) to 1e-5 + 1e-5·|dBias|·rows.
    @Test(arguments: ShapeGrid.all)
    func matchesReference(rows: Int, columns: Int) {
        let ws = Workspace()
        defer { ws.release() }
        let n = rows * columns
        let hValues = randomValues(n, tag: 130, scale: 4), bias = ws.buffer(randomValues(columns, tag: 131))
        let hFast = ws.buffer(hValues), hSlow = ws.buffer(hValues), aFast = ws.zeros(n), aSlow = ws.zeros(n)
        biasGELUForward(hFast, bias: bias.readOnly, activated: aFast, rows: rows, columns: columns)
        biasGELUForwardReference(hSlow, bias: bias.readOnly, activated: aSlow, rows: rows, columns: columns)
        expectBitwiseEqual(hFast.array, hSlow.array, "bias add \(rows)×\(columns)")
        expectClose(aFast.array, aSlow.array, atol: 1e-6, rtol: 1e-6, "bias + gelu forward \(rows)×\(columns)")

        let dA = randomValues(n, tag: 132), dBiasStart = randomValues(columns, tag: 133)
        let gFast = ws.buffer(dA), gSlow = ws.buffer(dA)
        let dbFast = ws.buffer(dBiasStart), dbSlow = ws.buffer(dBiasStart)
        biasGELUBackward(hFast.readOnly, gradient: gFast, dBias: dbFast, rows: rows, columns: columns)
        biasGELUBackwardReference(hFast.readOnly, gradient: gSlow, dBias: dbSlow, rows: rows, columns: columns)
        expectClose(gFast.array, gSlow.array, atol: 2e-6, rtol: 1e-5, "gelu backward dH \(rows)×\(columns)")
        expectClose(dbFast.array, dbSlow.array, atol: 1e-5, rtol: 1e-5 * Double(rows), "dBias \(rows)×\(columns)")
    }

    /// The fused passes give bitwise what the unfused sequence gives: `biasAddForward` + `geluForward`,
    /// and `geluBackward` into zeros + `biasAddBackward` (so fusing changed no result).
    @Test(arguments: [(65, 192), (700, 33), (4_096, 200)])
    func equalsUnfusedSequenceBitwise(rows: Int, columns: Int) {
        let ws = Workspace()
        defer { ws.release() }
        let n = rows * columns
        let hValues = randomValues(n, tag: 134, scale: 4), bias = ws.buffer(randomValues(columns, tag: 135))
        let dA = randomValues(n, tag: 136), dBiasStart = randomValues(columns, tag: 137)
        let hFused = ws.buffer(hValues), aFused = ws.zeros(n)
        biasGELUForward(hFused, bias: bias.readOnly, activated: aFused, rows: rows, columns: columns)
        let hPlain = ws.buffer(hValues), aPlain = ws.zeros(n)
        biasAddForward(hPlain, bias: bias.readOnly, rows: rows, columns: columns)
        geluForward(hPlain.readOnly, into: aPlain, count: n)
        expectBitwiseEqual(hFused.array, hPlain.array, "H, fused vs unfused")
        expectBitwiseEqual(aFused.array, aPlain.array, "A, fused vs unfused")

        let gFused = ws.buffer(dA), dbFused = ws.buffer(dBiasStart)
        biasGELUBackward(hFused.readOnly, gradient: gFused, dBias: dbFused, rows: rows, columns: columns)
        let dHPlain = ws.zeros(n), dbPlain = ws.buffer(dBiasStart)
        geluBackward(hPlain.readOnly, dY: ws.buffer(dA).readOnly, dX: dHPlain, count: n)
        biasAddBackward(dY: dHPlain.readOnly, dBias: dbPlain, rows: rows, columns: columns)
        expectBitwiseEqual(gFused.array, dHPlain.array, "dH, fused vs unfused")
        expectBitwiseEqual(dbFused.array, dbPlain.array, "dBias, fused vs unfused")
    }

    /// Bitwise the same outputs with no pool and pools of 1, 2 and 3 threads (4096×192: the row
    /// chunks and the bias reduction blocks both run in parallel).
    @Test func sameForEveryPool() {
        let rows = 4_096, columns = 192, n = rows * columns
        let hValues = randomValues(n, tag: 138, scale: 4), biasValues = randomValues(columns, tag: 139)
        let dA = randomValues(n, tag: 140)
        var first: [Float]?
        for pool in [nil, ThreadPool(threadCount: 1), ThreadPool(threadCount: 2), ThreadPool(threadCount: 3)] {
            let ws = Workspace()
            defer { ws.release() }
            let h = ws.buffer(hValues), a = ws.zeros(n), g = ws.buffer(dA), db = ws.zeros(columns)
            biasGELUForward(h, bias: ws.buffer(biasValues).readOnly, activated: a, rows: rows, columns: columns,
                            pool: pool)
            biasGELUBackward(h.readOnly, gradient: g, dBias: db, rows: rows, columns: columns, pool: pool)
            let outputs = h.array + a.array + g.array + db.array
            if let first {
                expectBitwiseEqual(outputs, first, "bias + GELU, \(pool?.threadCount ?? 0) threads")
            } else {
                first = outputs
            }
        }
        #expect(first != nil)
    }
}
