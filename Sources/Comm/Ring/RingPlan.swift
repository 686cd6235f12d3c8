import Wire

// MARK: - Ring all-reduce schedule: a pure value, no I/O

/// What one rank sends and receives in each of the 2(N-1) steps of a ring all-reduce
/// (reduce-scatter, then all-gather) over `count` elements.
///
/// The elements are split into `size` segments whose lengths differ by at most one (the first
/// `count % size` segments get one extra element). Every segment is split into the same number of
/// chunks (`chunksPerSegment`, enough that no chunk exceeds `chunkElements`), balanced the same way, so
/// in every step a rank sends and receives the same number of chunks and can interleave them one by one.
/// Chunks may be empty when `count < size`; the executor skips empty chunks on both sides, which stays
/// consistent because a sender's range is always its receiver's range.
///
/// Rank r sends to r+1 and receives from r-1 (mod size). Reduce-scatter step s: send segment (r-s),
/// receive and add segment (r-s-1). After it, rank r owns the full sum of segment (r+1). All-gather
/// step s: send segment (r+1-s), receive and copy segment (r-s). A group of one has no steps.
public struct RingPlan: Sendable, Equatable {
    /// One send/receive pair within a step: the k-th chunk of the sent and of the received segment.
    public struct Transfer: Sendable, Equatable {
        public var chunkIndex: Int
        /// Element range (in the planned buffer) sent to the next rank; may be empty.
        public var send: Range<Int>
        /// Element range received from the previous rank; may be empty.
        public var receive: Range<Int>
    }

    /// One of the 2(N-1) steps.
    public struct Step: Sendable, Equatable {
        public var phase: RingPhase
        /// 0-based step within the phase.
        public var ringStep: Int
        public var sendSegment: Int
        public var receiveSegment: Int
        /// `chunksPerSegment` transfers, in the order the executor runs them.
        public var transfers: [Transfer]
    }

    public let count: Int
    public let rank: Int
    public let size: Int
    public let chunkElements: Int
    /// Element range of every segment, in segment order; they tile `0..<count`.
    public let segments: [Range<Int>]
    /// Chunks every segment is split into (0 when `count == 0`).
    public let chunksPerSegment: Int
    /// Reduce-scatter steps first, then all-gather steps; empty when `size == 1` or `count == 0`.
    public let steps: [Step]

    /// - Parameters: `count` >= 0 elements, `rank` in 0..<size, `size` >= 1, `chunkElements` >= 1.
    public init(count: Int, rank: Int, size: Int, chunkElements: Int) {
        precondition(count >= 0, "RingPlan: negative count \(count)")
        precondition(size >= 1 && (0..<size).contains(rank), "RingPlan: rank \(rank) outside 0..<\(size)")
        precondition(chunkElements >= 1, "RingPlan: chunkElements must be >= 1, got \(chunkElements)")
        self.count = count
        self.rank = rank
        self.size = size
        self.chunkElements = chunkElements
        segments = (0..<size).map { RingPlan.split(0..<count, parts: size, index: $0) }
        let longest = segments.map(\.count).max() ?? 0
        chunksPerSegment = (longest + chunkElements - 1) / chunkElements
        guard size > 1, count > 0 else {
            steps = []
            return
        }
        var steps: [Step] = []
        for phase in [RingPhase.reduceScatter, .allGather] {
            for s in 0..<(size - 1) {
                let lag = phase == .reduceScatter ? s : s - 1
                let sendSegment = RingPlan.mod(rank - lag, size)
                let receiveSegment = RingPlan.mod(rank - lag - 1, size)
                let transfers = (0..<chunksPerSegment).map { [segments, chunksPerSegment] k in
                    Transfer(chunkIndex: k,
                             send: RingPlan.split(segments[sendSegment], parts: chunksPerSegment, index: k),
                             receive: RingPlan.split(segments[receiveSegment], parts: chunksPerSegment, index: k))
                }
                steps.append(Step(phase: phase, ringStep: s, sendSegment: sendSegment, receiveSegment: receiveSegment,
                                  transfers: transfers))
            }
        }
        self.steps = steps
    }

    /// The segment whose full sum this rank holds after reduce-scatter.
    public var ownedSegment: Int { RingPlan.mod(rank + 1, size) }

    /// Element range of chunk `index` of `segment`.
    public func chunk(_ index: Int, of segment: Int) -> Range<Int> {
        RingPlan.split(segments[segment], parts: chunksPerSegment, index: index)
    }

    // MARK: - Arithmetic helpers

    /// Part `index` of `range` split into `parts` pieces whose lengths differ by at most one.
    static func split(_ range: Range<Int>, parts: Int, index: Int) -> Range<Int> {
        let base = range.count / parts, extra = range.count % parts
        let start = range.lowerBound + index * base + min(index, extra)
        return start..<(start + base + (index < extra ? 1 : 0))
    }

    static func mod(_ a: Int, _ n: Int) -> Int { ((a % n) + n) % n }
}
