// MARK: - Message type and run identity

/// Which body an envelope carries. Raw values are the `neighbormae.v1.MessageType` numbers.
public enum MessageType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case join = 1
    case welcome
    case heartbeat
    case stepPlan
    case stepDone
    case commit
    case abort
    case stateTransferRequest
    case stateChunk
    case stateDone
    case checkpointRequest
    case checkpointChunk
    case checkpointDone
    case ringChunkHeader
    case leave
    case error

    public var description: String {
        switch self {
        case .join: "Join"
        case .welcome: "Welcome"
        case .heartbeat: "Heartbeat"
        case .stepPlan: "StepPlan"
        case .stepDone: "StepDone"
        case .commit: "Commit"
        case .abort: "Abort"
        case .stateTransferRequest: "StateTransferRequest"
        case .stateChunk: "StateChunk"
        case .stateDone: "StateDone"
        case .checkpointRequest: "CheckpointRequest"
        case .checkpointChunk: "CheckpointChunk"
        case .checkpointDone: "CheckpointDone"
        case .ringChunkHeader: "RingChunkHeader"
        case .leave: "Leave"
        case .error: "Error"
        }
    }
}

/// The 16-byte identity of one training run; every envelope carries it.
public struct RunID: Sendable, Hashable, CustomStringConvertible {
    /// Number of bytes on the wire.
    public static let byteCount = 16

    /// The all-zero id, used by a Join before the worker has learned the run id.
    public static let zero = RunID(high: 0, low: 0)

    /// First 8 bytes (big-endian order on the wire).
    public var high: UInt64
    /// Last 8 bytes (big-endian order on the wire).
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Builds an id from exactly 16 bytes; nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.init(high: high, low: low)
    }

    /// The 16 wire bytes.
    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    /// 32 lowercase hex digits.
    public var description: String {
        bytes.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
        }.joined()
    }
}
