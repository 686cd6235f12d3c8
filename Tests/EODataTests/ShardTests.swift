import EOData
import TensorCore
import Testing

@Suite("EOData epoch permutation and virtual shards")
struct ShardTests {
    @Test(arguments: [1, 2, 17, 210, 1000])
    func epochPermutationIsAKeyedPermutation(count: Int) {
        let a = epochPermutation(seed: 5, epoch: 3, count: count)
        #expect(a.sorted() == Array(0..<Int32(count)))
        #expect(epochPermutation(seed: 5, epoch: 3, count: count) == a)
        if count >= 17 {
            #expect(epochPermutation(seed: 5, epoch: 4, count: count) != a)
            #expect(epochPermutation(seed: 6, epoch: 3, count: count) != a)
        }
    }

    @Test func virtualShardsTileEachStepContiguously() throws {
        let shards = try VirtualShards(batchSize: 64, shardCount: 16, resumeOffset: 1000)
        #expect(shards.shardSize == 4)
        for step in 0..<3 {
            let all = shards.positions(step: step, shards: Array(0..<16))
            #expect(all == Array((1000 + step * 64)..<(1000 + (step + 1) * 64)))
        }
        #expect(throws: EODataError.self) { try VirtualShards(batchSize: 60, shardCount: 16) }
        #expect(throws: EODataError.self) { try VirtualShards(batchSize: 8, shardCount: 16) }
        #expect(throws: EODataError.self) { try VirtualShards(batchSize: 16, shardCount: 0) }
    }

    @Test(arguments: [1, 5, 16])
    func assignmentCoversEveryShardOnceForAnyWorkerCount(shardCount: Int) throws {
        let shards = try VirtualShards(batchSize: shardCount * 4, shardCount: shardCount)
        var stream = CounterRNG(seed: 9).stream(UInt32(shardCount))
        for workers in 1...(shardCount + 2) {
            for trial in 0..<20 {
                let weights = (0..<workers).map { _ in trial == 0 ? 1.0 : stream.nextUniform(0.1, 10) }
                let plan = ShardAssignment.assign(shardCount: shardCount, workerWeights: weights)
                #expect(plan.count == workers)
                #expect(plan.flatMap { $0 } == Array(0..<shardCount))  // contiguous, in order, each once
                let samples = plan.flatMap { shards.positions(step: 2, shards: $0) }
                #expect(samples == Array(shards.positions(step: 2, shards: Array(0..<shardCount))))
                #expect(Set(samples).count == shardCount * 4)
                let total = weights.reduce(0, +)
                for (worker, ids) in plan.enumerated() {
                    #expect(abs(Double(ids.count) - weights[worker] / total * Double(shardCount)) < 1 + 1e-9)
                }
                #expect(ShardAssignment.assign(shardCount: shardCount, workerWeights: weights) == plan)
            }
        }
    }

    @Test func assignmentIsProportionalAndHandlesZeroWeights() {
        #expect(ShardAssignment.assign(shardCount: 16, workerWeights: [3, 1]) == [Array(0..<12), Array(12..<16)])
        #expect(ShardAssignment.assign(shardCount: 4, workerWeights: [0, 0]) == [[0, 1], [2, 3]])
        #expect(ShardAssignment.assign(shardCount: 2, workerWeights: [1, 1, 1]).map(\.count) == [1, 1, 0])
    }
}
