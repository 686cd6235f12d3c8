import TensorCore
import Wire

// MARK: - Ring all-reduce executor: runs a RingPlan over two transports

/// Sums a buffer across the `size` ranks of a ring, in place, on every rank (reduce-scatter, then
/// all-gather; `RingPlan`). Rank r sends to r+1 through `next` and receives from r-1 through `previous`.
///
/// Thread-confined like its transports: create it, and call it, on the thread that owns both. Within a
/// step it alternates *send chunk k, receive chunk k*, so at most one chunk per direction is pending and
/// no rank ever blocks on a full queue while its neighbour waits for it. Every receive (and send) has the
/// deadline `options.timeout`; on a timeout or a vanished peer it throws `CollectiveFailed`, so a dead or
/// silent rank makes every other rank fail within about one deadline (they all stall at the same chunk).
///
/// Payloads are lent zero-copy from the buffer; the call returns only after every lent chunk was released.
/// That is safe within the collective: a segment is sent only after its last update in the phase, and the
/// all-gather overwrites a segment this rank sent during reduce-scatter only after that chunk completed the
/// ring, i.e. after the next rank already consumed it.
public final class RingAllReduce {
    public let rank: Int
    public let size: Int
    public let options: RingOptions
    /// What this ring has done so far (all calls).
    public private(set) var counters = RingCounters()

    let next: Transport?
    let previous: Transport?
    /// `previous` when it can leave payload CRCs to `take` (which then checks them in its own pass).
    let deferringPrevious: PayloadCheckDeferring?
    /// `next` when it takes payloads written in place (exact mode's partial sums go straight into its slot).
    let inPlaceNext: InPlaceSending?
    /// A received payload that failed its CRC while a sum of it was written in place (the written chunk went
    /// out with a CRC that does not match, so the next rank drops it), and its step: `sendChunk` throws.
    var writtenFromCorruptPayload: (PayloadMismatch, RingPlan.Step)?
    let ledger = LendLedger()
    private var sequence: UInt64 = 0
    /// Exact mode: absolute index of the first NaN (overflow) seen in the current collective.
    var firstNaNSeen: Int?

    /// - Parameters: `next` and `previous` may be nil only when `size == 1`.
    public init(rank: Int, size: Int, next: Transport?, previous: Transport?, options: RingOptions) {
        precondition(size >= 1 && (0..<size).contains(rank), "RingAllReduce: rank \(rank) outside 0..<\(size)")
        precondition(size == 1 || (next != nil && previous != nil), "RingAllReduce: size \(size) needs two transports")
        self.rank = rank
        self.size = size
        self.next = next
        self.previous = previous
        self.deferringPrevious = previous as? PayloadCheckDeferring
        self.inPlaceNext = next as? InPlaceSending
        self.options = options
    }

    /// Sums `values` (float mode: float32 adds, not bit-stable across world sizes) across all ranks.
    public func allReduce(_ values: UnsafeMutableBufferPointer<Float>, step: UInt64) throws(CollectiveFailed) {
        try allReduce(values, buckets: [0..<values.count], readiness: nil, step: step)
    }

    /// Sums fixed-point `values` (exact mode) across all ranks; overflow shows up as poison, which
    /// `floatFromFixed` / `FixedPointAccumulator.readFloats` report.
    public func allReduce(_ values: UnsafeMutableBufferPointer<Int64>, step: UInt64) throws(CollectiveFailed) {
        try allReduce(values, buckets: [0..<values.count], readiness: nil, step: step)
    }

    /// Sums `values` bucket by bucket. `buckets` tile (part of) the buffer in the order they become ready;
    /// bucket i is reduced as soon as `readiness` marks it (nil: all ready), while later ones are produced.
    /// The result equals the one-shot call bit for bit in exact mode (each element is summed the same way).
    public func allReduce<E: RingElement>(_ values: UnsafeMutableBufferPointer<E>, buckets: [Range<Int>],
                                          readiness: BucketReadiness?, step: UInt64) throws(CollectiveFailed) {
        try forEachBucket(buckets, count: values.count, readiness: readiness, step: step) {
            index, bucket throws(CollectiveFailed) in
            let plan = RingPlan(count: bucket.count, rank: rank, size: size,
                                chunkElements: max(1, options.chunkBytes / Int(E.wireBytes)))
            let context = ChunkContext(step: step, bucket: index, base: bucket.lowerBound)
            try run(plan.steps[...], region: UnsafeMutableBufferPointer(rebasing: values[bucket]), context: context)
        }
    }

    // MARK: - Buckets

    /// Validates the buckets, then for each: waits until it is ready and runs `body` on it. Waits for every
    /// lent chunk's release before returning.
    func forEachBucket(_ buckets: [Range<Int>], count: Int, readiness: BucketReadiness?, step: UInt64,
                       _ body: (Int, Range<Int>) throws(CollectiveFailed) -> Void) throws(CollectiveFailed) {
        for bucket in buckets {
            precondition(bucket.lowerBound >= 0 && bucket.upperBound <= count,
                         "RingAllReduce: bucket \(bucket) outside 0..<\(count)")
        }
        for (index, bucket) in buckets.enumerated() {
            if let readiness, !readiness.wait(for: index, timeout: options.bucketWait) {
                throw failure(.bucketNotReady(bucket: index, waited: options.bucketWait), step: step, bucket: index)
            }
            do throws(CollectiveFailed) {
                try body(index, bucket)
            } catch {
                throw withOutstandingLends(error)
            }
        }
        let outstanding = ledger.waitForReleases(timeout: options.timeout)
        if outstanding > 0 {
            throw failure(.sendTimeout(waited: options.timeout), step: step, bucket: buckets.count - 1,
                          outstanding: outstanding)
        }
    }

    // MARK: - One ring step

    /// Where in the arena and in the training a bucket's chunks belong.
    struct ChunkContext {
        var step: UInt64
        var bucket: Int
        /// Offset of the bucket in the whole buffer (chunk headers carry absolute element offsets).
        var base: Int
        /// Exact mode's all-gather: look for NaN (an overflow marker) in every chunk while it is in cache.
        var detectNaN = false
    }

    /// Runs `steps` of a plan over `region` (the bucket): sends its ranges (`prepareChunk`) and adds
    /// (reduce-scatter) or stores (all-gather) what arrives into it.
    func run<E: RingElement>(_ steps: ArraySlice<RingPlan.Step>, region: UnsafeMutableBufferPointer<E>,
                             context: ChunkContext) throws(CollectiveFailed) {
        try run(steps, reduceScatterAs: ChunkElement(E.self), allGatherAs: ChunkElement(E.self), context: context,
                prepare: { range, _ in prepareChunk(UnsafeBufferPointer(region), range: range) },
                absorb: { chunk throws(CollectiveFailed) in try take(chunk, into: region, context: context) })
    }

    /// Runs `steps` of a plan, one interleaved transfer at a time: `prepare` gives the payload to send for a
    /// range at a step, `absorb` consumes each received chunk. Chunks of each phase carry its element
    /// (`reduceScatterAs`, `allGatherAs`; the reduce-scatter's first step `firstStepAs` if given). Both phases
    /// run in one call, so the pipelining below also spans the phase boundary: the first all-gather chunk
    /// leaves before the last reduce-scatter one is added.
    ///
    /// The socket operations strictly alternate *send chunk k, receive chunk k*; the local work around them
    /// is pipelined so that it overlaps chunk k's transit instead of adding to it: between sending chunk k
    /// and receiving it, the rank absorbs (adds or stores) chunk k-1 and prepares (packs) chunk k+1. A
    /// chunk is prepared early only if its range does not depend on chunk k (a segment that is one chunk
    /// long, sent on in the next step), and a pending absorb is finished before anything that reads its
    /// range is prepared, so every chunk goes out with its final values.
    func run(_ steps: ArraySlice<RingPlan.Step>, reduceScatterAs: ChunkElement, allGatherAs: ChunkElement,
             firstStepAs: ChunkElement? = nil, context: ChunkContext,
             prepare: (Range<Int>, RingPlan.Step) -> OutgoingChunk,
             absorb: (ArrivedChunk) throws(CollectiveFailed) -> Void) throws(CollectiveFailed) {
        let transfers = steps.flatMap { planStep in planStep.transfers.map { (planStep, $0) } }
        var arrived: ArrivedChunk?
        var early: OutgoingChunk?
        for (index, (planStep, transfer)) in transfers.enumerated() {
            let element = switch (planStep.phase, planStep.ringStep) {
            case (.reduceScatter, 0): firstStepAs ?? reduceScatterAs
            case (.reduceScatter, _): reduceScatterAs
            case (.allGather, _): allGatherAs
            }
            if !transfer.send.isEmpty {
                if early == nil, let pending = arrived, pending.range.overlaps(transfer.send) {
                    try timed(pending.planStep.phase, \.absorbing) { () throws(CollectiveFailed) in
                        try absorb(pending)
                    }
                    arrived = nil
                }
                let chunk = early ?? timed(planStep.phase, \.preparing) { prepare(transfer.send, planStep) }
                early = nil
                try timed(planStep.phase, \.sending) { () throws(CollectiveFailed) in
                    try sendChunk(chunk, as: element, range: transfer.send, segment: planStep.sendSegment,
                                  chunkIndex: transfer.chunkIndex, planStep: planStep, context: context)
                }
            }
            if let pending = arrived {
                try timed(pending.planStep.phase, \.absorbing) { () throws(CollectiveFailed) in try absorb(pending) }
                arrived = nil
            }
            if index + 1 < transfers.count {
                let (followingStep, following) = transfers[index + 1]
                if !following.send.isEmpty, !following.send.overlaps(transfer.receive) {
                    early = timed(followingStep.phase, \.preparing) { prepare(following.send, followingStep) }
                }
            }
            if !transfer.receive.isEmpty {
                let (frames, width, crc) = try timed(planStep.phase, \.receiving) { () throws(CollectiveFailed) in
                    try receiveChunk(element, range: transfer.receive, segment: planStep.receiveSegment,
                                     chunkIndex: transfer.chunkIndex, planStep: planStep, context: context)
                }
                arrived = ArrivedChunk(frames: frames, width: width, range: transfer.receive, planStep: planStep,
                                       uncheckedCRC: crc)
            }
        }
        if let pending = arrived {
            try timed(pending.planStep.phase, \.absorbing) { () throws(CollectiveFailed) in try absorb(pending) }
        }
    }

    /// Runs `body`, adding its duration to `phase`'s `kind` of time in the counters.
    private func timed<R, Failure: Error>(_ phase: RingPhase, _ kind: WritableKeyPath<RingPhaseTimes, Duration>,
                                          _ body: () throws(Failure) -> R) throws(Failure) -> R {
        let start = ContinuousClock.now
        defer { counters[time: phase][keyPath: kind] += ContinuousClock.now - start }
        return try body()
    }

    /// Adds (reduce-scatter) or stores (all-gather) a received chunk into its range, checking its payload CRC
    /// in the same pass if the transport left it (`ArrivedChunk.forEachBlock`, `copyPayload`).
    func take<E: RingElement>(_ chunk: ArrivedChunk, into region: UnsafeMutableBufferPointer<E>,
                              context: ChunkContext) throws(CollectiveFailed) {
        let target = UnsafeMutableBufferPointer(rebasing: region[chunk.range])
        let phase = chunk.planStep.phase
        try checked(chunk, context: context) { () throws(PayloadMismatch) in
            if context.detectNaN, phase == .allGather, E.self == Float.self {   // exact: look for poison
                let floats = UnsafeMutableRawBufferPointer(target).assumingMemoryBound(to: Float.self)
                var firstBad: Int?
                try chunk.copyPayload(to: UnsafeMutableRawBufferPointer(target)) { elements in
                    guard firstBad == nil, let bad = firstNaN(UnsafeBufferPointer(rebasing: floats[elements])) else {
                        return
                    }
                    firstBad = elements.lowerBound + bad
                }
                if firstNaNSeen == nil, let firstBad { firstNaNSeen = context.base + chunk.range.lowerBound + firstBad }
            } else if phase == .allGather, E.self == Float.self {   // a plain copy, with the CRC in its pass
                try chunk.copyPayload(to: UnsafeMutableRawBufferPointer(target))
            } else {
                try chunk.forEachBlock { elements, payload in
                    let part = UnsafeMutableBufferPointer(rebasing: target[elements])
                    if phase == .reduceScatter {
                        E.reduce(payload, width: chunk.width, into: part)
                    } else {
                        E.store(payload, width: chunk.width, into: part)
                    }
                }
            }
        }
    }

    /// Runs `body` on a received chunk; a payload that fails its CRC fails the collective, since what it
    /// was added or stored into is garbage now (and the sender will not send it again).
    func checked<R>(_ chunk: ArrivedChunk, context: ChunkContext,
                    _ body: () throws(PayloadMismatch) -> R) throws(CollectiveFailed) -> R {
        do throws(PayloadMismatch) {
            return try body()
        } catch {
            count { $0.corruptPayloads += 1 }
            throw failure(.corruptPayload(declared: error.declared, actual: error.actual), step: context.step,
                          bucket: context.bucket, phase: chunk.planStep.phase, ringStep: chunk.planStep.ringStep)
        }
    }

    func nextSequence() -> UInt64 {
        sequence += 1
        return sequence
    }

    func count(_ update: (inout RingCounters) -> Void) { update(&counters) }

    // MARK: - Errors

    func failure(_ reason: CollectiveFailed.Reason, step: UInt64, bucket: Int, phase: RingPhase? = nil,
                 ringStep: Int? = nil, outstanding: Int = 0) -> CollectiveFailed {
        let error = CollectiveFailed(rank: rank, size: size, step: step, phase: phase, ringStep: ringStep,
                                     bucket: bucket, reason: reason, lentChunksOutstanding: outstanding)
        options.log(error.description)
        return error
    }

    /// After a failure, gives libzmq a moment to release lent chunks and records how many remain.
    private func withOutstandingLends(_ error: CollectiveFailed) -> CollectiveFailed {
        let outstanding = ledger.waitForReleases(timeout: RingTuning.releaseGraceOnFailure)
        guard outstanding > 0 else { return error }
        return CollectiveFailed(rank: error.rank, size: error.size, step: error.step, phase: error.phase,
                                ringStep: error.ringStep, bucket: error.bucket, reason: error.reason,
                                lentChunksOutstanding: outstanding)
    }
}
