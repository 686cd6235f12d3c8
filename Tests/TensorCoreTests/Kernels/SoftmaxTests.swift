import Foundation
import Testing
import TensorCore
import TestSupport

/// A key mask of `count` entries with about a third masked and at least one key allowed.
private func randomMask(_ count: Int, tag: UInt32) -> [Bool] {
    var mask = randomValues(count, tag: tag).map { $0 > -0.33 }
    if !mask.contains(true) { mask[count / 2] = true }
    return mask
}

/// Double softmax of scale·x over the allowed keys (0 elsewhere), for finite differences.
private func softmaxDouble(_ x: [Double], rows: Int, columns: Int, scale: Double, mask: [Bool]) -> [Double] {
    var y = [Double](repeating: 0, count: x.count)
    for r in 0..<rows {
        let keys = (0..<columns).filter { mask[$0] }
        let top = keys.map { scale * x[r * columns + $0] }.max()!
        let sum = keys.reduce(0) { $0 + exp(scale * x[r * columns + $1] - top) }
        for c in keys { y[r * columns + c] = exp(scale * x[r * columns + c] - top) / sum }
    }
    return y
}

@Suite struct SoftmaxTests {
    static let cases: [(Int, Int, Float, Bool)] = ShapeGrid.all.flatMap { rc in
        [(rc.0, rc.1, 1, false), (rc.0, rc.1, 0.125, true)]
    }

    /// Forward |Δ| ≤ 1e-6 + 1e-5·|y|; backward |Δ| ≤ 1e-6 + 1e-4·|dX| (Float row dot products).
    @Test(arguments: cases)
    func matchesReference(rows: Int, columns: Int, scale: Float, masked: Bool) {
        let ws = Workspace()
        defer { ws.release() }
        let n = rows * columns
        let x = ws.buffer(randomValues(n, tag: 30, scale: 8))
        let mask = masked ? randomMask(columns, tag: 31) : [Bool](repeating: true, count: columns)
        let fast = ws.zeros(n), slow = ws.zeros(n)
        mask.withUnsafeBufferPointer { keys in
            softmaxForward(x.readOnly, into: fast, rows: rows, columns: columns, scale: scale,
                           keyMask: masked ? keys : nil)
            softmaxForwardReference(x.readOnly, into: slow, rows: rows, columns: columns, scale: scale,
                                    keyMask: masked ? keys : nil)
        }
        let what = "\(rows)x\(columns) scale \(scale) masked \(masked)"
        expectClose(fast.array, slow.array, atol: 1e-6, rtol: 1e-5, "softmax forward " + what)
        for r in 0..<rows {
            let row = fast.array[(r * columns)..<((r + 1) * columns)]
            #expect(abs(row.reduce(0, +) - 1) <= 1e-6, "row \(r) sums to \(row.reduce(0, +)), \(what)")
            #expect(zip(row, mask).allSatisfy { $1 || $0 == 0 }, "masked keys must be exactly 0, \(what)")
        }

        let dY = ws.buffer(randomValues(n, tag: 32))
        let start = randomValues(n, tag: 33)
        let dFast = ws.buffer(start), dSlow = ws.buffer(start)
        softmaxBackward(fast.readOnly, dY: dY.readOnly, dX: dFast, rows: rows, columns: columns, scale: scale)
        softmaxBackwardReference(fast.readOnly, dY: dY.readOnly, dX: dSlow, rows: rows, columns: columns, scale: scale)
        expectClose(dFast.array, dSlow.array, atol: 1e-6, rtol: 1e-4, "softmax backward " + what)
    }

    @Test func perGroupMaskMatchesReference() {
        let ws = Workspace()
        defer { ws.release() }
        let rows = 12, columns = 21, groupRows = 4
        let x = ws.buffer(randomValues(rows * columns, tag: 34, scale: 3))
        let mask = randomMask(rows / groupRows * columns, tag: 35)
        let fast = ws.zeros(rows * columns), slow = ws.zeros(rows * columns)
        mask.withUnsafeBufferPointer { keys in
            softmaxForward(x.readOnly, into: fast, rows: rows, columns: columns, scale: 0.5, keyMask: keys,
                           maskGroupRows: groupRows)
            softmaxForwardReference(x.readOnly, into: slow, rows: rows, columns: columns, scale: 0.5, keyMask: keys,
                                    maskGroupRows: groupRows)
        }
        expectClose(fast.array, slow.array, atol: 1e-6, rtol: 1e-5, "softmax per-group mask")
        let zeros = (0..<(rows * columns)).filter { !mask[($0 / columns / groupRows) * columns + $0 % columns] }
        #expect(!zeros.isEmpty && zeros.allSatisfy { fast[$0] == 0 })
    }

    /// Inputs of ±1e4, and NaN/∞ in masked positions: no NaN, masked keys 0, rows sum to 1.
    @Test func largeInputsAndGarbageUnderTheMask() {
        let ws = Workspace()
        defer { ws.release() }
        let columns = 37
        var values = randomValues(2 * columns, tag: 36).map { $0 > 0 ? Float(1e4) : -1e4 }
        let mask = (0..<columns).map { $0 % 5 != 0 }
        for c in 0..<columns where !mask[c] { values[c] = .nan; values[columns + c] = .infinity }
        let y = ws.zeros(values.count)
        mask.withUnsafeBufferPointer { keys in
            softmaxForward(ws.buffer(values).readOnly, into: y, rows: 2, columns: columns, keyMask: keys)
        }
        #expect(y.array.allSatisfy { $0.isFinite && $0 >= 0 })
        for r in 0..<2 {
            #expect(abs(y.array[(r * columns)..<((r + 1) * columns)].reduce(0, +) - 1) <= 1e-6)
            #expect((0..<columns).allSatisfy { mask[$0] || y[r * columns + $0] == 0 })
        }
    }

    @Test func inPlaceMatchesOutOfPlace() {
        let ws = Workspace()
        defer { ws.release() }
        let values = randomValues(3 * 40, tag: 37, scale: 5)
        let out = ws.zeros(values.count), inPlace = ws.buffer(values)
        softmaxForward(ws.buffer(values).readOnly, into: out, rows: 3, columns: 40, scale: 0.3)
        softmaxForward(inPlace.readOnly, into: inPlace, rows: 3, columns: 40, scale: 0.3)
        expectBitwiseEqual(inPlace.array, out.array, "in-place softmax")
    }

    /// L = Σ w ⊙ softmax(scale·x) with a key mask: analytic dX against central differences.
    @Test(arguments: [(Float(1), false), (Float(0.35), true)])
    func gradientMatchesFiniteDifferences(scale: Float, masked: Bool) {
        let ws = Workspace()
        defer { ws.release() }
        let rows = 3, columns = 19, n = rows * columns
        let xValues = randomValues(n, tag: 38, scale: 2), w = randomValues(n, tag: 39)
        let mask = masked ? randomMask(columns, tag: 40) : [Bool](repeating: true, count: columns)
        let y = ws.zeros(n), dX = ws.zeros(n)
        mask.withUnsafeBufferPointer { keys in
            softmaxForward(ws.buffer(xValues).readOnly, into: y, rows: rows, columns: columns, scale: scale,
                           keyMask: keys)
        }
        softmaxBackward(y.readOnly, dY: ws.buffer(w).readOnly, dX: dX, rows: rows, columns: columns, scale: scale)
        let numeric = numericGradient(xValues.map(Double.init)) { x in
            weightedSum(w, softmaxDouble(x, rows: rows, columns: columns, scale: Double(scale), mask: mask))
        }
        expectGradientClose(dX.array, numeric, "softmax dX scale \(scale) masked \(masked)")
        #expect((0..<n).allSatisfy { mask[$0 % columns] || dX[$0] == 0 }, "masked keys get no gradient")
    }

    @Test func backwardAccumulates() {
        let ws = Workspace()
        defer { ws.release() }
        let rows = 65, columns = 33, n = rows * columns
        let y = ws.zeros(n)
        softmaxForward(ws.buffer(randomValues(n, tag: 41)).readOnly, into: y, rows: rows, columns: columns)
        let g = ws.buffer(randomValues(n, tag: 42))
        let prefilled = ws.buffer([Float](repeating: 0.25, count: n)), fresh = ws.zeros(n)
        softmaxBackward(y.readOnly, dY: g.readOnly, dX: prefilled, rows: rows, columns: columns)
        softmaxBackward(y.readOnly, dY: g.readOnly, dX: fresh, rows: rows, columns: columns)
        expectBitwiseEqual(prefilled.array, fresh.array.map { $0 + 0.25 }, "softmax backward onto 0.25")
    }
}
