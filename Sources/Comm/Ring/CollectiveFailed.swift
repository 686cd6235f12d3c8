import TensorCore
import Wire

// MARK: - A collective that could not finish (recoverable: drives membership recovery)

/// The all-reduce of one step failed on this rank. Every rank of a ring whose peer died or went silent
/// throws this within its receive deadline; the caller abandons the step's collective and recovers
/// (new membership epoch, new transports). It is not an environment error: nothing is retried here.
public struct CollectiveFailed: Error, Sendable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// No matching chunk arrived from the previous rank within the receive deadline.
        case receiveTimeout(waited: Duration)
        /// The next rank did not take a chunk within the send deadline (its queue stayed full).
        case sendTimeout(waited: Duration)
        /// A transport reported the peer gone or the endpoint closed.
        case peerGone(TransportError)
        /// Any other transport failure.
        case transport(TransportError)
        /// A chunk's payload did not match the CRC32C its sender declared. The ring checks it while adding or
        /// storing the chunk (when the transport leaves the check to it: `PayloadCheckDeferring`), so the range
        /// it went into is garbage and the collective cannot finish.
        case corruptPayload(declared: UInt32, actual: UInt32)
        /// The local producer did not mark a bucket ready in time.
        case bucketNotReady(bucket: Int, waited: Duration)
        /// Exact mode: a fixed-point sum overflowed, or a float contribution was outside the format (NaN, ±Inf,
        /// too large); every rank reports it, the collective itself completed.
        case fixedPointOverflow(FixedPointError)
    }

    public let rank: Int
    public let size: Int
    /// Training step of the collective.
    public let step: UInt64
    /// Phase and 0-based ring step in which it failed (nil before the first ring step, e.g. a bucket wait).
    public let phase: RingPhase?
    public let ringStep: Int?
    public let bucket: Int
    public let reason: Reason
    /// Zero-copy chunks lent from the caller's buffer that libzmq had not released when this was thrown.
    /// If non-zero, close the transports before reusing or freeing the buffer.
    public let lentChunksOutstanding: Int

    public var description: String {
        let place = (phase.map { "\($0) step \(ringStep ?? -1)" } ?? "before the ring") + " (ring of \(size))"
        return "[ring] rank \(rank): collective of step \(step) failed in \(place), bucket \(bucket): "
            + "\(reason)" + (lentChunksOutstanding > 0 ? " (\(lentChunksOutstanding) lent chunks outstanding)" : "")
            + "; hint: a ring peer died, stalled or left; recover membership and rerun the step"
    }
}
