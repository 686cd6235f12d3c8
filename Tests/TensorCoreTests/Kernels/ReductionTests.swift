import Testing
import TensorCore
import TestSupport

@Suite struct ReductionTests {
    /// Float SIMD sums of ≤ 200 terms in [-1, 1] against Double sums: |Δ| ≤ 1e-5 + 1e-5·|sum|.
    @Test(arguments: ShapeGrid.all + [(0, 7), (5, 0)])
    func rowAndColumnReductionsMatchReference(rows: Int, columns: Int) {
        let ws = Workspace()
        defer { ws.release() }
        let x = ws.buffer(randomValues(rows * columns, tag: 70))
        let what = "\(rows)x\(columns)"
        let fastC = ws.buffer([Float](repeating: .nan, count: columns)), slowC = ws.zeros(columns)
        sumOverRows(x.readOnly, into: fastC, rows: rows, columns: columns)
        sumOverRowsReference(x.readOnly, into: slowC, rows: rows, columns: columns)
        expectClose(fastC.array, slowC.array, atol: 1e-5, rtol: 1e-5, "sumOverRows " + what)
        meanOverRows(x.readOnly, into: fastC, rows: rows, columns: columns)
        let expectedMean = slowC.array.map { rows > 0 ? $0 / Float(rows) : 0 }
        expectClose(fastC.array, expectedMean, atol: 1e-6, rtol: 1e-5, "meanOverRows " + what)

        let fastR = ws.buffer([Float](repeating: .nan, count: rows)), slowR = ws.zeros(rows)
        sumOverColumns(x.readOnly, into: fastR, rows: rows, columns: columns)
        sumOverColumnsReference(x.readOnly, into: slowR, rows: rows, columns: columns)
        expectClose(fastR.array, slowR.array, atol: 1e-5, rtol: 1e-5, "sumOverColumns " + what)
        meanOverColumns(x.readOnly, into: fastR, rows: rows, columns: columns)
        let expectedRowMean = slowR.array.map { columns > 0 ? $0 / Float(columns) : 0 }
        expectClose(fastR.array, expectedRowMean, atol: 1e-6, rtol: 1e-5, "meanOverColumns " + what)
    }

    /// Blocks of 4,096 Float sums added in Double: |Δ| ≤ 1e-6·N against a sequential Double sum.
    @Test(arguments: ShapeGrid.counts + [1_000_000])
    func totalSumMatchesReference(count: Int) {
        let ws = Workspace()
        defer { ws.release() }
        let x = ws.buffer(randomValues(count, tag: 71))
        let fast = totalSum(x.readOnly, count: count), slow = totalSumReference(x.readOnly, count: count)
        #expect(abs(fast - slow) <= 1e-6 * Double(max(count, 1)), "totalSum N=\(count): \(fast) vs \(slow)")
        #expect(count > 0 || fast == 0)
    }

    @Test func totalSumIsIndependentOfThePool() {
        let ws = Workspace()
        defer { ws.release() }
        let count = 1_234_567
        let x = ws.buffer(randomValues(count, tag: 72))
        let sums = [1, 2, 3].map { totalSum(x.readOnly, count: count, pool: ThreadPool(threadCount: $0)) }
        #expect(sums.allSatisfy { $0.bitPattern == sums[0].bitPattern })
        #expect(sums[0] == totalSum(x.readOnly, count: count))
    }
}
