import TensorCore
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
}

/// What one ring did (read on the ring's thread, or after it finished).
public struct RingCounters: Sendable, Equatable {
    public var chunksSent = 0
    public var chunksReceived = 0
    public var bytesSent = 0
    /// Chunks of another membership epoch or step (left over from an abandoned collective): dropped.
    public var staleDropped = 0
    /// Chunks of this epoch and step at the wrong place (phase, step, segment, chunk, offset, size): dropped.
    public var mismatchedDropped = 0
    /// Messages that were not ring chunks at all: dropped.
    public var foreignDropped = 0

    public init() {}
}

/// A chunk's payload as the ring receives it: one plane (float32, or fixed point at 8 bytes) or two (fixed point
/// at 5 or 6 bytes: the low 4 bytes of every element, then the high parts; TensorCore `FixedPlanes`).
public struct RingPayload {
    public var first: UnsafeRawBufferPointer
    public var second: UnsafeRawBufferPointer

    public init(first: UnsafeRawBufferPointer,
                second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        self.first = first
        self.second = second
    }

    /// Bytes of each payload frame of `count` elements at wire width `width`.
    public static func planeBytes(width: UInt32, count: Int) -> [Int] {
        width == 5 || width == 6 ? [4 * count, (Int(width) - 4) * count] : [Int(width) * count]
    }

    /// The payload as fixed-point planes of `width` (5, 6 or 8).
    func fixedPlanes(width: UInt32) -> FixedPlanes {
        FixedPlanes(low: first, high: second, width: Int(width))
    }
}

/// Element types the ring can reduce: `Float` (float mode) and `Int64` (exact mode, fixed point).
public protocol RingElement: BitwiseCopyable {
    /// Bytes per element in memory, and the widest wire width (`RingChunkHeader.elementBytes`).
    static var wireBytes: UInt32 { get }
    /// Wire widths a receiver accepts for this element type.
    static var acceptedWireBytes: [UInt32] { get }
    /// `values` packed narrower than `wireBytes` (its payload frames) and the width used, or nil to send them
    /// as they are (zero-copy). Narrower only if nothing is lost.
    static func packedForWire(_ values: UnsafeBufferPointer<Self>) -> (frames: [Frame], width: UInt32)?
    /// target[i] += source[i]; source: `target.count` elements at wire width `width`.
    static func reduce(_ source: RingPayload, width: UInt32, into target: UnsafeMutableBufferPointer<Self>)
    /// target[i] = source[i]; source as in `reduce`.
    static func store(_ source: RingPayload, width: UInt32, into target: UnsafeMutableBufferPointer<Self>)
}

extension Float: RingElement {
    public static var wireBytes: UInt32 { 4 }
    public static let acceptedWireBytes: [UInt32] = [4]
    public static func packedForWire(_ values: UnsafeBufferPointer<Float>) -> (frames: [Frame], width: UInt32)? {
        nil
    }
    public static func reduce(_ source: RingPayload, width: UInt32, into target: UnsafeMutableBufferPointer<Float>) {
        floatAdd(source.first, into: target)
    }
    public static func store(_ source: RingPayload, width: UInt32, into target: UnsafeMutableBufferPointer<Float>) {
        UnsafeMutableRawBufferPointer(target).copyMemory(from: source.first)
    }
}

/// Fixed point travels at the narrowest width of 5, 6 or 8 bytes that holds the chunk (`fixedPackedWidth`,
/// planar form): realistic gradients need 5, so exact mode's reduce-scatter moves 5/8 of the bytes, exactly.
extension Int64: RingElement {
    public static var wireBytes: UInt32 { 8 }
    public static let acceptedWireBytes: [UInt32] = fixedPackedWidths.map(UInt32.init)
    /// One pass at the usual width 5 (`fixedPackIfFits`); only a chunk that does not fit is scanned for its
    /// width (`fixedPackedWidth`) and packed again. Width 8 goes zero-copy.
    public static func packedForWire(_ values: UnsafeBufferPointer<Int64>) -> (frames: [Frame], width: UInt32)? {
        if let frames = fixedPlaneFrames(count: values.count, width: 5, { fixedPackIfFits(values, into: $0) }) {
            return (frames, 5)
        }
        let width = fixedPackedWidth(values)
        guard width < 8 else { return nil }
        return (fixedPlaneFrames(count: values.count, width: width) { fixedPackIfFits(values, into: $0) }!,
                UInt32(width))
    }

    /// Overflow becomes sticky poison; `floatFromFixed` reports it after the collective.
    public static func reduce(_ source: RingPayload, width: UInt32, into target: UnsafeMutableBufferPointer<Int64>) {
        fixedSum(source.fixedPlanes(width: width), FixedPlanes(UnsafeBufferPointer(target)), into: target)
    }
    public static func store(_ source: RingPayload, width: UInt32, into target: UnsafeMutableBufferPointer<Int64>) {
        fixedUnpack(source.fixedPlanes(width: width), into: target)
    }
}

/// The two payload frames (low and high planes) of `count` fixed-point values at width 5 or 6, filled by
/// `fill`; nil if `fill` reports that the values do not fit.
func fixedPlaneFrames(count: Int, width: Int, _ fill: (MutableFixedPlanes) -> Bool) -> [Frame]? {
    var high: Frame?, fits = false
    let low = Frame(count: 4 * count) { lowBytes in
        high = Frame(count: (width - 4) * count) { highBytes in
            fits = fill(MutableFixedPlanes(low: lowBytes, high: highBytes, width: width))
        }
    }
    return fits ? [low, high!] : nil
}
