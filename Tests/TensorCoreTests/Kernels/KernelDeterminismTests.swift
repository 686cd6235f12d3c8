import Testing
import TensorCore
import TestSupport

/// Every kernel that takes a pool gives bitwise the same outputs with no pool and with pools of
/// 1, 2 and 3 threads, at 4096×192 (large enough that the parallel paths run: the row kernels split
/// into 48 tasks, the elementwise kernels into 48, the column reductions into 64 blocks).
@Suite struct KernelDeterminismTests {
    static let rows = 4_096, columns = 192
    static let pools: [ThreadPool?] = [nil, ThreadPool(threadCount: 1), ThreadPool(threadCount: 2),
                                       ThreadPool(threadCount: 3)]

    /// Runs `body` once per pool and expects every run's outputs to equal the first run's, bitwise.
    private func expectSameForEveryPool(_ what: String, _ body: (Workspace, ThreadPool?) -> [Float]) {
        var first: [Float]?
        for (index, pool) in Self.pools.enumerated() {
            let ws = Workspace()
            defer { ws.release() }
            let outputs = body(ws, pool)
            if let first {
                expectBitwiseEqual(outputs, first, "\(what), pool #\(index) (\(pool?.threadCount ?? 0) threads)")
            } else {
                first = outputs
            }
        }
    }

    @Test func elementwiseAndGELU() {
        let n = Self.rows * Self.columns
        let a = randomValues(n, tag: 90, scale: 4), b = randomValues(n, tag: 91), c = randomValues(n, tag: 92)
        expectSameForEveryPool("elementwise + GELU") { ws, pool in
            let x = ws.buffer(a), g = ws.buffer(b), y = ws.zeros(n), dX = ws.buffer(c), acc = ws.buffer(c)
            geluForward(x.readOnly, into: y, count: n, pool: pool)
            geluBackward(x.readOnly, dY: g.readOnly, dX: dX, count: n, pool: pool)
            elementwiseMulBackward(x.readOnly, g.readOnly, dOut: y.readOnly, dA: acc, dB: nil, count: n, pool: pool)
            addScaled(y.readOnly, by: 0.3, into: acc, count: n, pool: pool)
            return y.array + dX.array + acc.array
        }
    }

    @Test func softmaxWithMask() {
        let n = Self.rows * Self.columns
        let a = randomValues(n, tag: 93, scale: 6), b = randomValues(n, tag: 94)
        let mask = (0..<Self.columns).map { $0 % 7 != 3 }
        expectSameForEveryPool("softmax") { ws, pool in
            let y = ws.zeros(n), dX = ws.zeros(n)
            mask.withUnsafeBufferPointer { keys in
                softmaxForward(ws.buffer(a).readOnly, into: y, rows: Self.rows, columns: Self.columns, scale: 0.125,
                               keyMask: keys, pool: pool)
            }
            softmaxBackward(y.readOnly, dY: ws.buffer(b).readOnly, dX: dX, rows: Self.rows, columns: Self.columns,
                            scale: 0.125, pool: pool)
            return y.array + dX.array
        }
    }

    @Test func layerNorm() {
        let (r, d) = (Self.rows, Self.columns)
        let a = randomValues(r * d, tag: 95, scale: 3), b = randomValues(r * d, tag: 96)
        let gammaValues = randomValues(d, tag: 97), betaValues = randomValues(d, tag: 98)
        expectSameForEveryPool("layerNorm") { ws, pool in
            let x = ws.buffer(a), gamma = ws.buffer(gammaValues), y = ws.zeros(r * d)
            let mean = ws.zeros(r), rstd = ws.zeros(r)
            let dX = ws.zeros(r * d), dG = ws.zeros(d), dB = ws.zeros(d)
            layerNormForward(x.readOnly, gamma: gamma.readOnly, beta: ws.buffer(betaValues).readOnly, into: y,
                             mean: mean, rstd: rstd, rows: r, width: d, eps: 1e-6, pool: pool)
            layerNormBackward(dY: ws.buffer(b).readOnly, x: x.readOnly, gamma: gamma.readOnly, mean: mean.readOnly,
                              rstd: rstd.readOnly, dX: dX, dGamma: dG, dBeta: dB, rows: r, width: d, pool: pool)
            return y.array + mean.array + rstd.array + dX.array + dG.array + dB.array
        }
    }

    @Test func biasReductionsAndScatter() {
        let (r, c) = (Self.rows, Self.columns)
        let a = randomValues(r * c, tag: 99), biasValues = randomValues(c, tag: 100)
        let indices = (0..<(r * 2)).map { Int32(($0 * 7_919) % r) }     // every row hit twice
        expectSameForEveryPool("bias, reductions, gather/scatter") { ws, pool in
            let x = ws.buffer(a), y = ws.buffer(a), dBias = ws.zeros(c), rowSums = ws.zeros(c)
            let columnSums = ws.zeros(r), gathered = ws.zeros(2 * r * c), scattered = ws.zeros(r * c)
            biasAddForward(y, bias: ws.buffer(biasValues).readOnly, rows: r, columns: c, pool: pool)
            biasAddBackward(dY: x.readOnly, dBias: dBias, rows: r, columns: c, pool: pool)
            sumOverRows(x.readOnly, into: rowSums, rows: r, columns: c, pool: pool)
            sumOverColumns(x.readOnly, into: columnSums, rows: r, columns: c, pool: pool)
            indices.withUnsafeBufferPointer { idx in
                gatherRows(x.readOnly, rows: r, columns: c, indices: idx, into: gathered, pool: pool)
                scatterAddRows(gathered.readOnly, indices: idx, into: scattered, rows: r, columns: c, pool: pool)
            }
            let total = Float(totalSum(x.readOnly, count: r * c, pool: pool))
            return y.array + dBias.array + rowSums.array + columnSums.array + gathered.array + scattered.array + [total]
        }
    }
}
