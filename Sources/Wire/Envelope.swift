#if canImport(FoundationEssentials)
import FoundationEssentials  // ContiguousBytes only
#else
import Foundation
#endif

// MARK: - Envelope (frame 1) and a decoded message

/// The fixed fields of frame 1 (`neighbormae.v1.Envelope` without its body).
public struct Envelope: Sendable, Equatable {
    /// Protocol version this build speaks; decoders reject any other.
    public static let currentProtocolVersion: UInt32 = 1

    /// Which body follows; `WireCodec.encodeHeader` requires it to match the body.
    public var type: MessageType
    /// Always `currentProtocolVersion` when built here; other values exist only to test rejection.
    public var protocolVersion: UInt32
    /// The run this message belongs to.
    public var runID: RunID
    /// Membership epoch the sender believes in.
    public var membershipEpoch: UInt64
    /// Training step the message belongs to (0 outside steps).
    public var step: UInt64
    /// Per-sender counter.
    public var sequence: UInt64
    /// Total bytes of frames 2..n.
    public var payloadLength: UInt64
    /// CRC32C of frames 2..n concatenated (0 for no payload).
    public var payloadCRC32C: UInt32

    public init(type: MessageType, runID: RunID, membershipEpoch: UInt64 = 0, step: UInt64 = 0,
                sequence: UInt64 = 0, payloadLength: UInt64 = 0, payloadCRC32C: UInt32 = 0,
                protocolVersion: UInt32 = Envelope.currentProtocolVersion) {
        self.type = type
        self.protocolVersion = protocolVersion
        self.runID = runID
        self.membershipEpoch = membershipEpoch
        self.step = step
        self.sequence = sequence
        self.payloadLength = payloadLength
        self.payloadCRC32C = payloadCRC32C
    }

    /// Sets `payloadLength` and `payloadCRC32C` from the payload frames that will follow frame 1.
    public mutating func describePayload(_ frames: [some ContiguousBytes]) {
        var length: UInt64 = 0
        var crc: UInt32 = 0
        for frame in frames {
            frame.withUnsafeBytes { bytes in
                length += UInt64(bytes.count)
                crc = crc32c(bytes, seed: crc)
            }
        }
        payloadLength = length
        payloadCRC32C = crc
    }
}

/// A validated message: envelope, typed body and the payload frames (not copied: the same frame
/// values the caller passed to `WireCodec.decode`, minus frame 1).
public struct WireMessage<Frame> {
    public var envelope: Envelope
    public var body: Body
    /// Frames 2..n; their total size and CRC32C match the envelope.
    public var payload: [Frame]

    public init(envelope: Envelope, body: Body, payload: [Frame]) {
        self.envelope = envelope
        self.body = body
        self.payload = payload
    }
}

extension WireMessage: Sendable where Frame: Sendable {}
extension WireMessage: Equatable where Frame: Equatable {}
