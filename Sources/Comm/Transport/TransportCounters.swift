import Synchronization
import Wire

// MARK: - What a transport has seen

/// Counts of traffic and of everything rejected, by reason. Shared between the socket's thread (which
/// writes) and monitoring or tests (which read): all access goes through one lock.
public final class TransportCounters: Sendable {
    /// A point-in-time copy of the counters.
    public struct Snapshot: Sendable, Equatable {
        public var sent: UInt64 = 0
        public var received: UInt64 = 0
        /// Rejected incoming messages, keyed by reason (`RejectReason.key`).
        public var rejected: [String: UInt64] = [:]
        /// Connections that ended: peers that left, and peers libzmq dropped, e.g. for a frame over
        /// `ZMQ_MAXMSGSIZE` (libzmq closes such a connection without saying why, so it cannot be told apart).
        public var disconnects: UInt64 = 0

        /// All rejected messages, whatever the reason.
        public var rejectedTotal: UInt64 { rejected.values.reduce(0, +) }

        public func rejected(_ reason: RejectReason) -> UInt64 { rejected[reason.key] ?? 0 }
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    public func countSent() { state.withLock { $0.sent += 1 } }
    public func countReceived() { state.withLock { $0.received += 1 } }
    public func countRejected(_ reason: RejectReason) { state.withLock { $0.rejected[reason.key, default: 0] += 1 } }
    public func countDisconnect() { state.withLock { $0.disconnects += 1 } }
}

/// Why an incoming message or connection was refused.
public enum RejectReason: Sendable, Equatable {
    /// The message failed `WireCodec.decode`.
    case wire(WireError)
    /// The ZAP handler refused a CURVE client key (or a client without CURVE).
    case authentication
    /// A connection failed its ZMTP handshake (e.g. plaintext client against a CURVE server).
    case handshake
    /// More than `WireLimits.maxFrames` frames (the rest of the message was drained and dropped).
    case tooManyFrames

    /// Stable counter key: the wire error's case name, or the reason's name.
    public var key: String {
        switch self {
        case let .wire(error):
            switch error {
            case .wrongFrameCount: "wrongFrameCount"
            case .oversized: "oversized"
            case .truncated: "truncated"
            case .malformed: "malformed"
            case .unsupportedVersion: "unsupportedVersion"
            case .wrongRunID: "wrongRunID"
            case .unknownType: "unknownType"
            case .bodyMismatch: "bodyMismatch"
            case .payloadLengthMismatch: "payloadLengthMismatch"
            case .crcMismatch: "crcMismatch"
            }
        case .authentication: "authentication"
        case .handshake: "handshake"
        case .tooManyFrames: "tooManyFrames"
        }
    }
}

extension TransportCounters.Snapshot: CustomStringConvertible {
    /// One line for logs: `sent 10, received 12, rejected 3 (authentication 2, crcMismatch 1), disconnects 1`.
    public var description: String {
        let reasons = rejected.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return "sent \(sent), received \(received), rejected \(rejectedTotal)"
            + (reasons.isEmpty ? "" : " (\(reasons))") + ", disconnects \(disconnects)"
    }
}
