// MARK: - Why a message was rejected

/// The part of a message a size or parse error refers to.
public enum WirePart: String, Sendable, Equatable {
    case header = "header frame"
    case envelope
    case body
    case payload
}

/// A received message was rejected. Every case is a property of the input, never a bug here:
/// the receiver counts it, logs `description`, drops the message and keeps serving.
public enum WireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No frames, or more frames than `WireLimits.maxFrames`.
    case wrongFrameCount(Int, max: Int)
    /// A part is larger than its limit.
    case oversized(WirePart, size: UInt64, limit: UInt64)
    /// The envelope or body ends in the middle of a field.
    case truncated(WirePart)
    /// The envelope or body does not parse, or a field has an invalid value.
    case malformed(WirePart, String)
    /// The envelope's protocol version is not `Envelope.currentProtocolVersion`.
    case unsupportedVersion(UInt32)
    /// The envelope's run id is not the expected one.
    case wrongRunID(expected: RunID, got: RunID)
    /// The envelope names a message type this version does not know.
    case unknownType(UInt32)
    /// The body is not a valid encoding of the type the envelope names (unknown or misplaced fields).
    case bodyMismatch(MessageType)
    /// The payload frames do not add up to the declared payload length (or what the body implies).
    case payloadLengthMismatch(declared: UInt64, actual: UInt64)
    /// The payload's CRC32C differs from the declared one.
    case crcMismatch(declared: UInt32, actual: UInt32)

    public var description: String {
        switch self {
        case let .wrongFrameCount(count, max):
            "wire: message has \(count) frames, expected 1...\(max)"
        case let .oversized(part, size, limit):
            "wire: \(part.rawValue) is \(size) bytes, limit \(limit) (hint: raise WireLimits only for trusted peers)"
        case let .truncated(part):
            "wire: \(part.rawValue) ends in the middle of a field (truncated frame)"
        case let .malformed(part, detail):
            "wire: malformed \(part.rawValue): \(detail)"
        case let .unsupportedVersion(version):
            "wire: protocol version \(version), this build speaks \(Envelope.currentProtocolVersion) "
                + "(hint: run the same build on every process)"
        case let .wrongRunID(expected, got):
            "wire: run id \(got), expected \(expected) (a process from another run?)"
        case let .unknownType(raw):
            "wire: unknown message type \(raw)"
        case let .bodyMismatch(type):
            "wire: body is not a valid \(type) (unknown fields or wrong field types)"
        case let .payloadLengthMismatch(declared, actual):
            "wire: payload is \(actual) bytes, header declares \(declared)"
        case let .crcMismatch(declared, actual):
            "wire: payload CRC32C \(hex(actual)), header declares \(hex(declared)) (corrupted payload)"
        }
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}
