import Wire

// MARK: - Tuning constants (measured on a 2-core loopback host; notes zeromq-protobuf-c-from-swift.md §3-4)

public enum RingTuning {
    /// Chunk payload size. Per-message cost is ~5 µs, so 64 KiB chunks lose ~40 % over TCP; 256 KiB-4 MiB
    /// reached the same ring bandwidth. 1 MiB keeps the queued bytes per socket small (HWM x 1 MiB) and
    /// lets the receiver reduce chunk k while chunk k+1 is on the wire.
    public static let defaultChunkBytes = 1 << 20
    /// Receive deadline: long enough for a 64 MiB segment on a slow link (~1 s at 100 MB/s), short
    /// enough that a dead peer is noticed within the "a few seconds" the recovery protocol budgets.
    public static let defaultReceiveTimeout = Duration.seconds(5)
    /// How long a rank waits for its own backward pass to mark a bucket ready before giving up.
    public static let defaultBucketWait = Duration.seconds(600)
    /// After a failure, how long to wait for libzmq to release lent chunks before reporting them outstanding.
    public static let releaseGraceOnFailure = Duration.milliseconds(200)
}

/// Settings of one ring (all ranks must use the same `chunkBytes`, run id and epoch).
public struct RingOptions: Sendable {
    public var runID: RunID
    /// Membership epoch this ring belongs to; chunks of other epochs are dropped.
    public var membershipEpoch: UInt64
    /// Largest chunk payload in bytes (rounded down to whole elements, at least one).
    public var chunkBytes: Int
    /// Deadline of every receive (and every send) of a chunk.
    public var timeout: Duration
    public var bucketWait: Duration
    /// Send payloads straight from the caller's buffer (`Frame(lending:)`); `false` copies each chunk.
    public var zeroCopy: Bool
    public var log: @Sendable (String) -> Void

    public init(runID: RunID, membershipEpoch: UInt64 = 0, chunkBytes: Int = RingTuning.defaultChunkBytes,
                timeout: Duration = RingTuning.defaultReceiveTimeout,
                bucketWait: Duration = RingTuning.defaultBucketWait,
                zeroCopy: Bool = true, log: @escaping @Sendable (String) -> Void = { _ in }) {
        precondition(chunkBytes > 0, "RingOptions: chunkBytes must be positive")
        self.runID = runID
        self.membershipEpoch = membershipEpoch
        self.chunkBytes = chunkBytes
        self.timeout = timeout
        self.bucketWait = bucketWait
        self.zeroCopy = zeroCopy
        self.log = log
    }

    /// Largest payload of one chunk: exact mode cuts chunks of `chunkBytes / 4` elements (as float mode)
    /// and sends them up to 8 bytes wide. What a shared-memory slot must hold besides the header.
    public var largestChunkPayloadBytes: Int { max(1, chunkBytes / 4) * 8 }
}
