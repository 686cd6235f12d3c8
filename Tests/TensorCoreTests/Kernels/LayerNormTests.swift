import Testing
import TensorCore
import TestSupport

/// Double LayerNorm of every row (biased variance), for finite differences.
private func layerNormDouble(_ x: [Double], _ gamma: [Double], _ beta: [Double], rows: Int, width: Int,
                             eps: Double) -> [Double] {
    var y = [Double](repeating: 0, count: x.count)
    for r in 0..<rows {
        let row = x[(r * width)..<((r + 1) * width)]
        let mu = row.reduce(0, +) / Double(width)
        let variance = row.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(width)
        for c in 0..<width {
            y[r * width + c] = (x[r * width + c] - mu) / (variance + eps).squareRoot() * gamma[c] + beta[c]
        }
    }
    return y
}

/// One LayerNorm problem: inputs, parameters, and a forward run by the fast kernel.
private struct Problem {
    let rows: Int, width: Int
    let x, gamma, beta, y, mean, rstd: UnsafeMutableBufferPointer<Float>

    init(_ ws: Workspace, rows: Int, width: Int, tag: UInt32) {
        self.rows = rows
        self.width = width
        // An offset and spread per row, so mean and variance both matter.
        x = ws.buffer(randomValues(rows * width, tag: tag).enumerated().map { $1 * Float(1 + $0 / width % 3) + 0.7 })
        gamma = ws.buffer(randomValues(width, tag: tag + 1).map { 1 + $0 / 2 })
        beta = ws.buffer(randomValues(width, tag: tag + 2))
        y = ws.zeros(rows * width)
        mean = ws.zeros(rows)
        rstd = ws.zeros(rows)
        layerNormForward(x.readOnly, gamma: gamma.readOnly, beta: beta.readOnly, into: y, mean: mean, rstd: rstd,
                         rows: rows, width: width, eps: 1e-6)
    }
}

@Suite struct LayerNormTests {
    /// Forward: |Δy| ≤ 1e-5 (+1e-5 relative); mean, rstd relative 1e-5. Backward: dX 1e-5 + 1e-4 rel,
    /// dγ/dβ (sums over ≤ 65 rows) 1e-4 + 1e-4 rel.
    @Test(arguments: ShapeGrid.all)
    func matchesReference(rows: Int, width: Int) {
        let ws = Workspace()
        defer { ws.release() }
        let p = Problem(ws, rows: rows, width: width, tag: 50)
        let y = ws.zeros(rows * width), mean = ws.zeros(rows), rstd = ws.zeros(rows)
        layerNormForwardReference(p.x.readOnly, gamma: p.gamma.readOnly, beta: p.beta.readOnly, into: y, mean: mean,
                                  rstd: rstd, rows: rows, width: width, eps: 1e-6)
        let what = "\(rows)x\(width)"
        expectClose(p.y.array, y.array, atol: 1e-5, rtol: 1e-5, "layerNorm y " + what)
        expectClose(p.mean.array, mean.array, atol: 1e-6, rtol: 1e-5, "layerNorm mean " + what)
        expectClose(p.rstd.array, rstd.array, atol: 0, rtol: 1e-5, "layerNorm rstd " + what)

        let dY = ws.buffer(randomValues(rows * width, tag: 53))
        let start = randomValues(rows * width, tag: 54), startParams = randomValues(width, tag: 55)
        let dX = ws.buffer(start), dG = ws.buffer(startParams), dB = ws.buffer(startParams)
        let rX = ws.buffer(start), rG = ws.buffer(startParams), rB = ws.buffer(startParams)
        layerNormBackward(dY: dY.readOnly, x: p.x.readOnly, gamma: p.gamma.readOnly, mean: p.mean.readOnly,
                          rstd: p.rstd.readOnly, dX: dX, dGamma: dG, dBeta: dB, rows: rows, width: width)
        layerNormBackwardReference(dY: dY.readOnly, x: p.x.readOnly, gamma: p.gamma.readOnly, mean: p.mean.readOnly,
                                   rstd: p.rstd.readOnly, dX: rX, dGamma: rG, dBeta: rB, rows: rows, width: width)
        expectClose(dX.array, rX.array, atol: 1e-5, rtol: 1e-4, "layerNorm dX " + what)
        expectClose(dG.array, rG.array, atol: 1e-4, rtol: 1e-4, "layerNorm dGamma " + what)
        expectClose(dB.array, rB.array, atol: 1e-4, rtol: 1e-4, "layerNorm dBeta " + what)
    }

    @Test func constantRowsNormaliseToBeta() {
        let ws = Workspace()
        defer { ws.release() }
        let width = 33
        let x = ws.buffer([Float](repeating: 3.5, count: 2 * width))
        let gamma = ws.buffer(randomValues(width, tag: 56)), beta = ws.buffer(randomValues(width, tag: 57))
        let y = ws.zeros(2 * width), mean = ws.zeros(2), rstd = ws.zeros(2)
        layerNormForward(x.readOnly, gamma: gamma.readOnly, beta: beta.readOnly, into: y, mean: mean, rstd: rstd,
                         rows: 2, width: width, eps: 1e-6)
        expectBitwiseEqual(y.array, beta.array + beta.array, "constant rows")
        #expect(mean.array == [3.5, 3.5] && rstd.array.allSatisfy { abs($0 - 1000) <= 1e-3 })
    }

    /// L = Σ W ⊙ LayerNorm(X; γ, β): dX, dγ, dβ against central differences of the Double definition.
    @Test func gradientsMatchFiniteDifferences() {
        let ws = Workspace()
        defer { ws.release() }
        let rows = 4, width = 21, n = rows * width, eps = 1e-6
        let p = Problem(ws, rows: rows, width: width, tag: 60)
        let w = randomValues(n, tag: 63)
        let dX = ws.zeros(n), dG = ws.zeros(width), dB = ws.zeros(width)
        layerNormBackward(dY: ws.buffer(w).readOnly, x: p.x.readOnly, gamma: p.gamma.readOnly, mean: p.mean.readOnly,
                          rstd: p.rstd.readOnly, dX: dX, dGamma: dG, dBeta: dB, rows: rows, width: width)
        let x = p.x.array.map(Double.init), gamma = p.gamma.array.map(Double.init), beta = p.beta.array.map(Double.init)
        let numericX = numericGradient(x) {
            weightedSum(w, layerNormDouble($0, gamma, beta, rows: rows, width: width, eps: eps))
        }
        let numericG = numericGradient(gamma) {
            weightedSum(w, layerNormDouble(x, $0, beta, rows: rows, width: width, eps: eps))
        }
        let numericB = numericGradient(beta) {
            weightedSum(w, layerNormDouble(x, gamma, $0, rows: rows, width: width, eps: eps))
        }
        expectGradientClose(dX.array, numericX, "layerNorm dX")
        expectGradientClose(dG.array, numericG, "layerNorm dGamma")
        expectGradientClose(dB.array, numericB, "layerNorm dBeta")
    }

    @Test func backwardAccumulates() {
        let ws = Workspace()
        defer { ws.release() }
        let rows = 130, width = 40
        let p = Problem(ws, rows: rows, width: width, tag: 64)
        let g = ws.buffer(randomValues(rows * width, tag: 67))
        var results: [[Float]] = []
        for calls in 1...2 {
            let dX = ws.zeros(rows * width), dG = ws.zeros(width), dB = ws.zeros(width)
            for _ in 0..<calls {
                layerNormBackward(dY: g.readOnly, x: p.x.readOnly, gamma: p.gamma.readOnly, mean: p.mean.readOnly,
                                  rstd: p.rstd.readOnly, dX: dX, dGamma: dG, dBeta: dB, rows: rows, width: width)
            }
            results.append(dX.array + dG.array + dB.array)
        }
        expectBitwiseEqual(results[1], results[0].map { $0 * 2 }, "layerNorm backward twice")
    }
}
