import Testing
import TensorCore
import TestSupport

@Suite struct ElementwiseTests {
    // MARK: - Fast versus reference

    /// Tolerance: exact for add/mul/scale (same single Float operation); 1 rounding (rtol 1e-6) for
    /// the FMA paths against Double references.
    @Test(arguments: ShapeGrid.counts)
    func kernelsMatchReferences(count: Int) {
        let ws = Workspace()
        defer { ws.release() }
        let a = ws.buffer(randomValues(count, tag: 1)), b = ws.buffer(randomValues(count, tag: 2))
        let y0 = randomValues(count, tag: 3)
        let fast = ws.zeros(count), slow = ws.zeros(count)

        elementwiseAdd(a.readOnly, b.readOnly, into: fast, count: count)
        elementwiseAddReference(a.readOnly, b.readOnly, into: slow, count: count)
        expectBitwiseEqual(fast.array, slow.array, "add N=\(count)")

        elementwiseMul(a.readOnly, b.readOnly, into: fast, count: count)
        elementwiseMulReference(a.readOnly, b.readOnly, into: slow, count: count)
        expectBitwiseEqual(fast.array, slow.array, "mul N=\(count)")

        scale(a.readOnly, by: -1.7, into: fast, count: count)
        scaleReference(a.readOnly, by: -1.7, into: slow, count: count)
        expectBitwiseEqual(fast.array, slow.array, "scale N=\(count)")
        scaleInPlace(slow, by: 0.5, count: count)
        scale(fast.readOnly, by: 0.5, into: fast, count: count)
        expectBitwiseEqual(fast.array, slow.array, "scaleInPlace N=\(count)")

        let fastY = ws.buffer(y0), slowY = ws.buffer(y0)
        accumulate(a.readOnly, into: fastY, count: count)
        accumulateReference(a.readOnly, into: slowY, count: count)
        expectBitwiseEqual(fastY.array, slowY.array, "accumulate N=\(count)")

        addScaled(b.readOnly, by: 0.37, into: fastY, count: count)
        addScaledReference(b.readOnly, by: 0.37, into: slowY, count: count)
        expectClose(fastY.array, slowY.array, atol: 1e-7, rtol: 1e-6, "addScaled N=\(count)")
    }

    @Test(arguments: ShapeGrid.counts)
    func mulBackwardMatchesReferenceAndAccumulates(count: Int) {
        let ws = Workspace()
        defer { ws.release() }
        let a = ws.buffer(randomValues(count, tag: 4)), b = ws.buffer(randomValues(count, tag: 5))
        let g = ws.buffer(randomValues(count, tag: 6))
        let start = randomValues(count, tag: 7)
        let dA = ws.buffer(start), dB = ws.buffer(start), refA = ws.buffer(start), refB = ws.buffer(start)
        elementwiseMulBackward(a.readOnly, b.readOnly, dOut: g.readOnly, dA: dA, dB: dB, count: count)
        elementwiseMulBackwardReference(a.readOnly, b.readOnly, dOut: g.readOnly, dA: refA, dB: refB, count: count)
        expectClose(dA.array, refA.array, atol: 1e-7, rtol: 1e-6, "mul dA N=\(count)")
        expectClose(dB.array, refB.array, atol: 1e-7, rtol: 1e-6, "mul dB N=\(count)")

        // Only one gradient requested: the other side is untouched.
        let onlyB = ws.buffer(start)
        elementwiseMulBackward(a.readOnly, b.readOnly, dOut: g.readOnly, dA: nil, dB: onlyB, count: count)
        expectBitwiseEqual(onlyB.array, dB.array, "mul dB alone N=\(count)")
    }

    // MARK: - Bias

    @Test(arguments: ShapeGrid.all)
    func biasAddMatchesReference(rows: Int, columns: Int) {
        let ws = Workspace()
        defer { ws.release() }
        let bias = ws.buffer(randomValues(columns, tag: 8))
        let y0 = randomValues(rows * columns, tag: 9)
        let fast = ws.buffer(y0), slow = ws.buffer(y0)
        biasAddForward(fast, bias: bias.readOnly, rows: rows, columns: columns)
        biasAddForwardReference(slow, bias: bias.readOnly, rows: rows, columns: columns)
        expectBitwiseEqual(fast.array, slow.array, "bias forward \(rows)x\(columns)")

        let dY = ws.buffer(randomValues(rows * columns, tag: 10))
        let db0 = randomValues(columns, tag: 11)
        let dFast = ws.buffer(db0), dSlow = ws.buffer(db0)
        biasAddBackward(dY: dY.readOnly, dBias: dFast, rows: rows, columns: columns)
        biasAddBackwardReference(dY: dY.readOnly, dBias: dSlow, rows: rows, columns: columns)
        // Float sums of ≤ 65 terms in [-1, 1] against Double sums.
        expectClose(dFast.array, dSlow.array, atol: 1e-5, rtol: 1e-5, "bias backward \(rows)x\(columns)")
    }

    // MARK: - Gradients by finite differences

    /// L = Σ W ⊙ (X + bias) and L = Σ W ⊙ (a ⊙ b): analytic gradients against central differences.
    @Test func biasAndMulGradientsMatchFiniteDifferences() {
        let ws = Workspace()
        defer { ws.release() }
        let rows = 5, columns = 19, n = rows * columns
        let w = randomValues(n, tag: 12), biasValues = randomValues(columns, tag: 13)
        let dBias = ws.zeros(columns)
        biasAddBackward(dY: ws.buffer(w).readOnly, dBias: dBias, rows: rows, columns: columns)
        let numericBias = numericGradient(biasValues.map(Double.init)) { bias in
            (0..<n).reduce(0) { $0 + Double(w[$1]) * bias[$1 % columns] }
        }
        expectGradientClose(dBias.array, numericBias, "dBias")

        let aValues = randomValues(n, tag: 14), bValues = randomValues(n, tag: 15)
        let dA = ws.zeros(n), dB = ws.zeros(n)
        elementwiseMulBackward(ws.buffer(aValues).readOnly, ws.buffer(bValues).readOnly, dOut: ws.buffer(w).readOnly,
                               dA: dA, dB: dB, count: n)
        let numericA = numericGradient(aValues.map(Double.init)) { a in
            weightedSum(w, (0..<n).map { a[$0] * Double(bValues[$0]) })
        }
        let numericB = numericGradient(bValues.map(Double.init)) { b in
            weightedSum(w, (0..<n).map { Double(aValues[$0]) * b[$0] })
        }
        expectGradientClose(dA.array, numericA, "mul dA")
        expectGradientClose(dB.array, numericB, "mul dB")
    }

    // MARK: - Accumulation

    @Test func backwardKernelsAccumulate() {
        let ws = Workspace()
        defer { ws.release() }
        let rows = 65, columns = 33, n = rows * columns
        let g = ws.buffer(randomValues(n, tag: 16)), a = ws.buffer(randomValues(n, tag: 17))
        let once = ws.zeros(columns), twice = ws.zeros(columns)
        biasAddBackward(dY: g.readOnly, dBias: once, rows: rows, columns: columns)
        biasAddBackward(dY: g.readOnly, dBias: twice, rows: rows, columns: columns)
        biasAddBackward(dY: g.readOnly, dBias: twice, rows: rows, columns: columns)
        expectBitwiseEqual(twice.array, once.array.map { $0 * 2 }, "bias backward twice")

        let dOnce = ws.zeros(n), dTwice = ws.zeros(n)
        elementwiseMulBackward(a.readOnly, a.readOnly, dOut: g.readOnly, dA: dOnce, dB: nil, count: n)
        elementwiseMulBackward(a.readOnly, a.readOnly, dOut: g.readOnly, dA: dTwice, dB: nil, count: n)
        elementwiseMulBackward(a.readOnly, a.readOnly, dOut: g.readOnly, dA: dTwice, dB: nil, count: n)
        expectBitwiseEqual(dTwice.array, dOnce.array.map { $0 * 2 }, "mul backward twice")
    }
}
