// MARK: - Step transaction bodies (SYSTEM.md §3) and the ring chunk header

/// Coordinator -> worker: one training step.
public struct StepPlan: Sendable, Equatable {
    /// Global step number.
    public var step: UInt64
    /// Data epoch (selects the sample permutation).
    public var epoch: UInt64
    /// AdamW learning rate for this step (finite, >= 0).
    public var learningRate: Double
    /// V: virtual shards in the global batch (at least 1).
    public var virtualShardCount: UInt32
    /// Shards assigned to the receiver, each < V, no repeats.
    public var virtualShards: [UInt32]
    /// Worker ids in ring order (at least 1, no repeats).
    public var ringOrder: [UInt32]
    /// Data-plane endpoint of each ring member, same order and count as `ringOrder`.
    public var ringEndpoints: [String]
    /// All-reduce chunk size in bytes (at least 1).
    public var chunkBytes: UInt64
    /// True: 64-bit fixed-point all-reduce (bit-stable); false: float32.
    public var exact: Bool
    /// Data cursor: global samples consumed before this step.
    public var samplesConsumed: UInt64
    /// CURVE public key of each ring member's receiver, in ring order (empty without CURVE on the data plane).
    public var ringPublicKeys: [[UInt8]]

    public init(step: UInt64, epoch: UInt64, learningRate: Double, virtualShardCount: UInt32,
                virtualShards: [UInt32], ringOrder: [UInt32], ringEndpoints: [String], chunkBytes: UInt64,
                exact: Bool, samplesConsumed: UInt64, ringPublicKeys: [[UInt8]] = []) {
        self.step = step
        self.epoch = epoch
        self.learningRate = learningRate
        self.virtualShardCount = virtualShardCount
        self.virtualShards = virtualShards
        self.ringOrder = ringOrder
        self.ringEndpoints = ringEndpoints
        self.chunkBytes = chunkBytes
        self.exact = exact
        self.samplesConsumed = samplesConsumed
        self.ringPublicKeys = ringPublicKeys
    }
}

/// Worker -> coordinator: the step's gradient is all-reduced (`ok`) or the worker failed.
public struct StepDone: Sendable, Equatable {
    /// Step this reports on.
    public var step: UInt64
    /// True when the all-reduced gradient is ready to apply.
    public var ok: Bool
    /// Sum over the worker's shards of per-sample weighted loss sums (may be NaN on divergence).
    public var lossSum: Double
    /// Sum of the weights behind `lossSum`.
    public var lossWeightSum: Double
    /// Masked pixels that contributed to the loss.
    public var maskedPixelCount: UInt64
    /// Virtual shards computed.
    public var shardsDone: UInt32
    /// Forward + backward time in ms (finite, >= 0).
    public var computeMs: Double
    /// All-reduce time in ms (finite, >= 0).
    public var reduceMs: Double
    /// Empty when ok; otherwise what went wrong.
    public var error: String
    /// Like `lossSum`, for the visibility-weighted objective.
    public var weightedLossSum: Double

    public init(step: UInt64, ok: Bool, lossSum: Double, lossWeightSum: Double, maskedPixelCount: UInt64,
                shardsDone: UInt32, computeMs: Double, reduceMs: Double, error: String = "",
                weightedLossSum: Double = 0) {
        self.step = step
        self.ok = ok
        self.lossSum = lossSum
        self.lossWeightSum = lossWeightSum
        self.maskedPixelCount = maskedPixelCount
        self.shardsDone = shardsDone
        self.computeMs = computeMs
        self.reduceMs = reduceMs
        self.error = error
        self.weightedLossSum = weightedLossSum
    }
}

/// Coordinator -> workers: every member reported ok; apply the update of `step`.
public struct Commit: Sendable, Equatable {
    public var step: UInt64

    public init(step: UInt64) { self.step = step }
}

/// Coordinator -> workers: discard the gradient of `step`; it will be re-planned.
public struct Abort: Sendable, Equatable {
    public var step: UInt64
    /// Why (timeout, peer gone, bad chunk, ...).
    public var reason: String

    public init(step: UInt64, reason: String) {
        self.step = step
        self.reason = reason
    }
}

/// Phase of the ring all-reduce.
public enum RingPhase: UInt32, Sendable, CaseIterable {
    /// Receiver adds the chunk into its segment.
    case reduceScatter = 1
    /// Receiver copies the chunk into its segment.
    case allGather = 2
}

/// Worker -> ring neighbour: header of one all-reduce chunk; the elements are the payload frames.
public struct RingChunkHeader: Sendable, Equatable {
    public var phase: RingPhase
    /// 0-based step within the phase.
    public var ringStep: UInt32
    /// Segment of the arena this chunk belongs to.
    public var segment: UInt32
    /// 0-based chunk within the segment.
    public var chunkIndex: UInt32
    /// First element of the chunk in the whole arena.
    public var elementOffset: UInt64
    /// Elements in the chunk; `elementCount * elementBytes` equals the envelope's payload length.
    public var elementCount: UInt64
    /// 4 (float32); 5, 6 or 8 (64-bit fixed point of exact mode: at 5 and 6 in planar form as two payload
    /// frames, the low 4 bytes of every element, then the sign-extended high 1 or 2 bytes of every element;
    /// TensorCore `FixedPlanes`).
    public var elementBytes: UInt32
    /// Gradient bucket (for overlap with backward); 0 when not bucketed.
    public var bucket: UInt32

    public init(phase: RingPhase, ringStep: UInt32, segment: UInt32, chunkIndex: UInt32, elementOffset: UInt64,
                elementCount: UInt64, elementBytes: UInt32, bucket: UInt32 = 0) {
        self.phase = phase
        self.ringStep = ringStep
        self.segment = segment
        self.chunkIndex = chunkIndex
        self.elementOffset = elementOffset
        self.elementCount = elementCount
        self.elementBytes = elementBytes
        self.bucket = bucket
    }
}
