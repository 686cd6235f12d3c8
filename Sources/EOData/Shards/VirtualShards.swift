/// The global batch as V virtual shards (SYSTEM.md §4): step s, shard v holds the global sample
/// positions [cursor_s + v·B/V, cursor_s + (v + 1)·B/V) with cursor_s = resumeOffset + s·B.
/// Fixed lists, so any set of workers can be handed any subset of shards without changing results.
public struct VirtualShards: Codable, Equatable, Sendable {
    /// Global batch B (samples per step).
    public let batchSize: Int
    /// Virtual shards V per step.
    public let shardCount: Int
    /// Samples consumed before step 0 (resume cursor).
    public let resumeOffset: Int

    /// Throws `.invalidConfiguration` unless B ≥ V ≥ 1 and V divides B.
    public init(batchSize: Int, shardCount: Int, resumeOffset: Int = 0) throws(EODataError) {
        guard shardCount >= 1, batchSize >= shardCount, batchSize % shardCount == 0 else {
            throw .invalidConfiguration("global batch \(batchSize) must be a positive multiple of the "
                                        + "virtual shard count \(shardCount)")
        }
        guard resumeOffset >= 0 else { throw .invalidConfiguration("resume offset \(resumeOffset) is negative") }
        self.batchSize = batchSize
        self.shardCount = shardCount
        self.resumeOffset = resumeOffset
    }

    /// Samples per shard, B / V.
    public var shardSize: Int { batchSize / shardCount }

    /// Global positions of shard `shard` of step `step`.
    public func positions(step: Int, shard: Int) -> Range<Int> {
        precondition(step >= 0 && (0..<shardCount).contains(shard), "VirtualShards: step \(step) shard \(shard)")
        let start = resumeOffset + step * batchSize + shard * shardSize
        return start..<(start + shardSize)
    }

    /// Positions of several shards of a step, in shard order.
    public func positions(step: Int, shards: [Int]) -> [Int] {
        shards.flatMap { Array(positions(step: step, shard: $0)) }
    }
}

/// Splits V shards among workers in proportion to their weights (e.g. measured speed).
public enum ShardAssignment {
    /// Contiguous shard ids per worker, in worker order: quotas by the largest-remainder method
    /// (ties to the lower worker index), so every shard goes to exactly one worker. Deterministic.
    /// Non-positive or non-finite weights count as 0; if all are 0, workers weigh equally.
    /// With more workers than shards some get none.
    public static func assign(shardCount: Int, workerWeights: [Double]) -> [[Int]] {
        precondition(shardCount >= 0 && !workerWeights.isEmpty, "ShardAssignment: no workers or negative shards")
        var weights = workerWeights.map { $0.isFinite && $0 > 0 ? $0 : 0 }
        var total = weights.reduce(0, +)
        if total == 0 {
            weights = weights.map { _ in 1 }
            total = Double(weights.count)
        }
        let exact = weights.map { $0 / total * Double(shardCount) }
        var quotas = exact.map { Int($0.rounded(.down)) }
        let remaining = shardCount - quotas.reduce(0, +)
        let byRemainder = exact.indices.sorted { a, b in
            let ra = exact[a] - Double(quotas[a]), rb = exact[b] - Double(quotas[b])
            return ra != rb ? ra > rb : a < b
        }
        for worker in byRemainder.prefix(remaining) { quotas[worker] += 1 }
        var next = 0
        return quotas.map { quota in
            defer { next += quota }
            return Array(next..<(next + quota))
        }
    }
}
