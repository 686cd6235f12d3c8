import Foundation
import Testing
import TensorCore
import TestSupport

@Suite struct GELUTests {
    /// Forward: |Δy| ≤ 1e-6 + 1e-6·|y| for x in [−6, 6] (Φ has absolute error ≤ 1e-7, scaled by |x|).
    /// Backward: |ΔdX| ≤ 2e-6 + 1e-5·|dX|.
    @Test(arguments: ShapeGrid.counts)
    func matchesReference(count: Int) {
        let ws = Workspace()
        defer { ws.release() }
        let x = ws.buffer(randomValues(count, tag: 20, scale: 6))
        let fast = ws.zeros(count), slow = ws.zeros(count)
        geluForward(x.readOnly, into: fast, count: count)
        geluForwardReference(x.readOnly, into: slow, count: count)
        expectClose(fast.array, slow.array, atol: 1e-6, rtol: 1e-6, "gelu forward N=\(count)")

        let dY = ws.buffer(randomValues(count, tag: 21))
        let start = randomValues(count, tag: 22)
        let dFast = ws.buffer(start), dSlow = ws.buffer(start)
        geluBackward(x.readOnly, dY: dY.readOnly, dX: dFast, count: count)
        geluBackwardReference(x.readOnly, dY: dY.readOnly, dX: dSlow, count: count)
        expectClose(dFast.array, dSlow.array, atol: 2e-6, rtol: 1e-5, "gelu backward N=\(count)")
    }

    /// Vectorised body and remainder iterations compute identical values: every element of a long
    /// buffer equals the same element run alone (a count-1 call runs only the remainder path).
    @Test func resultDoesNotDependOnPosition() {
        let ws = Workspace()
        defer { ws.release() }
        let n = 203
        let values = randomValues(n, tag: 27, scale: 5), grads = randomValues(n, tag: 28)
        let y = ws.zeros(n), dX = ws.zeros(n)
        geluForward(ws.buffer(values).readOnly, into: y, count: n)
        geluBackward(ws.buffer(values).readOnly, dY: ws.buffer(grads).readOnly, dX: dX, count: n)
        var alone = [Float](), aloneGrad = [Float]()
        for i in 0..<n {
            let one = ws.zeros(1), oneGrad = ws.zeros(1)
            geluForward(ws.buffer([values[i]]).readOnly, into: one, count: 1)
            geluBackward(ws.buffer([values[i]]).readOnly, dY: ws.buffer([grads[i]]).readOnly, dX: oneGrad, count: 1)
            alone.append(one[0])
            aloneGrad.append(oneGrad[0])
        }
        expectBitwiseEqual(y.array, alone, "gelu forward, buffer vs one at a time")
        expectBitwiseEqual(dX.array, aloneGrad, "gelu backward, buffer vs one at a time")
    }

    @Test func extremeInputs() {
        let ws = Workspace()
        defer { ws.release() }
        let values: [Float] = [-1e4, -100, -10, -5.6, 0, 5.6, 10, 100, 1e4]
        let y = ws.zeros(values.count)
        geluForward(ws.buffer(values).readOnly, into: y, count: values.count)
        // GELU(x) = max(x, 0) to within 1e-6 for |x| ≥ 5.6; exactly for |x| ≥ 5.55 (Φ saturates).
        expectClose(y.array, values.map { max($0, 0) }, atol: 1e-6, rtol: 0, "gelu of extreme inputs")
        #expect(y.array.first == 0 && y.array.last == 1e4)
        let dX = ws.zeros(values.count)
        let ones = ws.buffer(values.map { _ in 1 })
        geluBackward(ws.buffer(values).readOnly, dY: ones.readOnly, dX: dX, count: values.count)
        #expect(dX.array.allSatisfy { $0.isFinite })
        #expect(dX.array.first == 0 && dX.array.last == 1)
    }

    /// L = Σ w ⊙ GELU(x), analytic dX against central differences of the Double definition.
    @Test func gradientMatchesFiniteDifferences() {
        let ws = Workspace()
        defer { ws.release() }
        let n = 37
        let xValues = randomValues(n, tag: 23, scale: 4), w = randomValues(n, tag: 24)
        let dX = ws.zeros(n)
        geluBackward(ws.buffer(xValues).readOnly, dY: ws.buffer(w).readOnly, dX: dX, count: n)
        let numeric = numericGradient(xValues.map(Double.init)) { x in
            weightedSum(w, x.map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) })
        }
        expectGradientClose(dX.array, numeric, "gelu dX")
    }

    @Test func backwardAccumulates() {
        let ws = Workspace()
        defer { ws.release() }
        let n = 1_000
        let x = ws.buffer(randomValues(n, tag: 25, scale: 3)), g = ws.buffer(randomValues(n, tag: 26))
        let prefilled = ws.buffer([Float](repeating: 0.25, count: n)), fresh = ws.zeros(n)
        geluBackward(x.readOnly, dY: g.readOnly, dX: prefilled, count: n)
        geluBackward(x.readOnly, dY: g.readOnly, dX: fresh, count: n)
        // The FMA rounds once: within an ulp of 0.25 or of the result; an overwrite would be 0.25 off.
        expectClose(prefilled.array, fresh.array.map { $0 + 0.25 }, atol: 3e-8, rtol: 2.5e-7, "gelu backward onto 0.25")
    }
}
