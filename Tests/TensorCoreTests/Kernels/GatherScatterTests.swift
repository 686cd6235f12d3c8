import Testing
import TensorCore
import TestSupport

@Suite struct GatherScatterTests {
    static let cases: [(Int, Int)] = [(1, 1), (5, 7), (17, 16), (65, 33), (300, 192), (9, 200)]

    /// Random indices in 0..<rows (with repeats) and a permutation of 0..<rows.
    static func indices(rows: Int, count: Int, tag: UInt32) -> (repeated: [Int], permutation: [Int]) {
        var stream = CounterRNG(seed: 7).stream(tag)
        let repeated = (0..<count).map { _ in stream.nextInt(below: rows) }
        var permutation = Array(0..<rows)
        for i in stride(from: rows - 1, to: 0, by: -1) { permutation.swapAt(i, stream.nextInt(below: i + 1)) }
        return (repeated, permutation)
    }

    @Test(arguments: cases)
    func gatherMatchesReference(rows: Int, columns: Int) {
        let ws = Workspace()
        defer { ws.release() }
        let src = ws.buffer(randomValues(rows * columns, tag: 80))
        let n = rows * 2 + 1
        let (repeated, _) = Self.indices(rows: rows, count: n, tag: 81)
        let expected = ws.zeros(n * columns), viaInt = ws.zeros(n * columns), viaInt32 = ws.zeros(n * columns)
        gatherRowsReference(src.readOnly, columns: columns, indices: repeated, into: expected)
        repeated.withUnsafeBufferPointer {
            gatherRows(src.readOnly, rows: rows, columns: columns, indices: $0, into: viaInt)
        }
        repeated.map { Int32($0) }.withUnsafeBufferPointer {
            gatherRows(src.readOnly, rows: rows, columns: columns, indices: $0, into: viaInt32)
        }
        expectBitwiseEqual(viaInt.array, expected.array, "gather Int \(rows)x\(columns)")
        expectBitwiseEqual(viaInt32.array, expected.array, "gather Int32 \(rows)x\(columns)")
    }

    @Test(arguments: cases)
    func scatterInvertsGatherOfAPermutation(rows: Int, columns: Int) {
        let ws = Workspace()
        defer { ws.release() }
        let src = ws.buffer(randomValues(rows * columns, tag: 82))
        let (_, permutation) = Self.indices(rows: rows, count: 0, tag: 83)
        let shuffled = ws.zeros(rows * columns), restored = ws.buffer([Float](repeating: .nan, count: rows * columns))
        permutation.map { Int32($0) }.withUnsafeBufferPointer { perm in
            gatherRows(src.readOnly, rows: rows, columns: columns, indices: perm, into: shuffled)
            scatterRows(shuffled.readOnly, indices: perm, into: restored, rows: rows, columns: columns)
        }
        expectBitwiseEqual(restored.array, src.array, "scatter(gather(x, p), p) \(rows)x\(columns)")

        // A partial scatter leaves the other rows alone.
        let partial = ws.buffer([Float](repeating: -1, count: rows * columns))
        let some = Array(permutation.prefix((rows + 1) / 2))
        some.withUnsafeBufferPointer { idx in
            scatterRows(shuffled.readOnly, indices: idx, into: partial, rows: rows, columns: columns)
        }
        var expected = [Float](repeating: -1, count: rows * columns)
        for (n, index) in some.enumerated() {
            for c in 0..<columns { expected[index * columns + c] = shuffled[n * columns + c] }
        }
        expectBitwiseEqual(partial.array, expected, "partial scatter \(rows)x\(columns)")
    }

    /// scatterAdd with repeated indices (the backward of gather) equals the in-order reference exactly.
    @Test(arguments: cases)
    func scatterAddSumsDuplicates(rows: Int, columns: Int) {
        let ws = Workspace()
        defer { ws.release() }
        let n = rows * 3 + 2
        let src = ws.buffer(randomValues(n * columns, tag: 84))
        let (repeated, _) = Self.indices(rows: rows, count: n, tag: 85)
        let start = randomValues(rows * columns, tag: 86)
        let fast = ws.buffer(start), fast32 = ws.buffer(start), slow = ws.buffer(start)
        repeated.withUnsafeBufferPointer {
            scatterAddRows(src.readOnly, indices: $0, into: fast, rows: rows, columns: columns)
        }
        repeated.map { Int32($0) }.withUnsafeBufferPointer {
            scatterAddRows(src.readOnly, indices: $0, into: fast32, rows: rows, columns: columns,
                           pool: ThreadPool(threadCount: 3))
        }
        scatterAddRowsReference(src.readOnly, indices: repeated, into: slow, columns: columns)
        expectBitwiseEqual(fast.array, slow.array, "scatterAdd Int \(rows)x\(columns)")
        expectBitwiseEqual(fast32.array, slow.array, "scatterAdd Int32, 3 threads \(rows)x\(columns)")
    }

    @Test func emptyIndicesTouchNothing() {
        let ws = Workspace()
        defer { ws.release() }
        let dst = ws.buffer([1, 2, 3, 4]), out = ws.zeros(0)
        [Int32]().withUnsafeBufferPointer { none in
            gatherRows(dst.readOnly, rows: 2, columns: 2, indices: none, into: out)
            scatterRows(dst.readOnly, indices: none, into: dst, rows: 2, columns: 2)
            scatterAddRows(dst.readOnly, indices: none, into: dst, rows: 2, columns: 2)
        }
        #expect(dst.array == [1, 2, 3, 4])
    }
}
