#if canImport(FoundationEssentials)
import FoundationEssentials  // ContiguousBytes only
#else
import Foundation
#endif
import CProtobufC
import WireC

// MARK: - Encoding and validating decoding of multipart messages

/// Turns envelopes and bodies into frame 1 and back. Frames 2..n (payload) are never copied here:
/// the sender sends its own buffers after frame 1; the receiver gets its frames back in `WireMessage`.
public enum WireCodec {
    /// Frame 1 for `envelope` and `body` (`envelope.type` must be `body.type`; a mismatch is a bug and traps).
    /// The envelope's payload fields must already describe the payload (see `encode(_:body:payload:)`).
    public static func encodeHeader(_ envelope: Envelope, body: Body) -> [UInt8] {
        precondition(envelope.type == body.type, "envelope type \(envelope.type) does not match body \(body.type)")
        let bodyBytes = body.packed()
        let runBytes = envelope.runID.bytes
        var c = Neighbormae__V1__Envelope.initialized()
        c.type = Neighbormae__V1__MessageType(rawValue: envelope.type.rawValue)
        c.protocol_version = envelope.protocolVersion
        c.membership_epoch = envelope.membershipEpoch
        c.step = envelope.step
        c.sequence = envelope.sequence
        c.payload_length = envelope.payloadLength
        c.payload_crc32c = envelope.payloadCRC32C
        // Borrowed pointers, valid only while packing.
        return runBytes.withUnsafeBufferPointer { run in
            bodyBytes.withUnsafeBufferPointer { body in
                c.run_id = ProtobufCBinaryData(len: run.count, data: UnsafeMutablePointer(mutating: run.baseAddress))
                c.body = ProtobufCBinaryData(len: body.count, data: UnsafeMutablePointer(mutating: body.baseAddress))
                return CCodec.pack(&c)
            }
        }
    }

    /// Frame 1 for `envelope` and `body`, with `payloadLength` and `payloadCRC32C` computed from `payload`.
    public static func encode(_ envelope: Envelope, body: Body, payload: [some ContiguousBytes]) -> [UInt8] {
        var described = envelope
        described.describePayload(payload)
        return encodeHeader(described, body: body)
    }

    /// Validates a whole multipart message and decodes it. Checks, in order: frame count, header
    /// size, payload size, envelope parse, protocol version, message type, run id (if `expectedRunID`
    /// is given; a Join may carry `RunID.zero`), declared payload size, body parse and field values,
    /// payload length, payload CRC32C, and what the body implies about the payload.
    ///
    /// `checkingPayloadCRC: false` skips only the CRC32C pass, for a consumer that checks
    /// `envelope.payloadCRC32C` itself while it reads the payload anyway (and trusts nothing it read before).
    public static func decode<Frame: ContiguousBytes>(
        frames: [Frame], expectedRunID: RunID?, limits: WireLimits = .standard, checkingPayloadCRC: Bool = true
    ) throws(WireError) -> WireMessage<Frame> {
        guard let first = frames.first, frames.count <= limits.maxFrames else {
            throw .wrongFrameCount(frames.count, max: limits.maxFrames)
        }
        let payload = Array(frames.dropFirst())
        let actualLength = try payloadLength(payload, limits: limits)
        let (envelope, body) = try withBytes(first) { bytes throws(WireError) in
            try decodeHeader(bytes, expectedRunID: expectedRunID, limits: limits)
        }
        guard envelope.payloadLength == actualLength else {
            throw .payloadLengthMismatch(declared: envelope.payloadLength, actual: actualLength)
        }
        if checkingPayloadCRC {
            var crc: UInt32 = 0
            for frame in payload {
                crc = frame.withUnsafeBytes { crc32c($0, seed: crc) }
            }
            guard crc == envelope.payloadCRC32C else {
                throw .crcMismatch(declared: envelope.payloadCRC32C, actual: crc)
            }
        }
        try checkPayloadAgainstBody(body, payloadLength: actualLength)
        return WireMessage(envelope: envelope, body: body, payload: payload)
    }

    /// Validates and decodes frame 1 alone (no payload checks): everything `decode` checks up to the body.
    public static func decodeHeader(
        _ bytes: UnsafeRawBufferPointer, expectedRunID: RunID?, limits: WireLimits = .standard
    ) throws(WireError) -> (envelope: Envelope, body: Body) {
        guard bytes.count <= limits.maxHeaderBytes else {
            throw .oversized(.header, size: UInt64(bytes.count), limit: UInt64(limits.maxHeaderBytes))
        }
        guard !bytes.isEmpty else { throw .truncated(.header) }
        return try CCodec.unpack(Neighbormae__V1__Envelope.self, bytes, part: .envelope,
                                 type: nil) { c throws(WireError) in
            guard c.protocol_version == Envelope.currentProtocolVersion else {
                throw .unsupportedVersion(c.protocol_version)
            }
            guard let type = MessageType(rawValue: c.type.rawValue) else { throw .unknownType(c.type.rawValue) }
            let runBytes = try CRead.bytes(c.run_id, "run_id", part: .envelope)
            guard let runID = RunID(bytes: runBytes) else {
                throw .malformed(.envelope, "run_id has \(runBytes.count) bytes, expected 16")
            }
            if let expectedRunID, runID != expectedRunID, !(type == .join && runID == .zero) {
                throw .wrongRunID(expected: expectedRunID, got: runID)
            }
            guard c.payload_length <= limits.maxPayloadBytes else {
                throw .oversized(.payload, size: c.payload_length, limit: limits.maxPayloadBytes)
            }
            let envelope = Envelope(
                type: type, runID: runID, membershipEpoch: c.membership_epoch, step: c.step, sequence: c.sequence,
                payloadLength: c.payload_length, payloadCRC32C: c.payload_crc32c, protocolVersion: c.protocol_version)
            guard c.body.len == 0 || c.body.data != nil else {
                throw .malformed(.envelope, "body has \(c.body.len) bytes and no data")
            }
            let body = try Body.unpack(type, UnsafeRawBufferPointer(start: c.body.data, count: c.body.len))
            try checkStep(envelope, body)
            return (envelope, body)
        }
    }

    // MARK: - Cross-checks

    /// Total payload size, refusing (before any CRC work) totals above the limit.
    private static func payloadLength<Frame: ContiguousBytes>(
        _ payload: [Frame], limits: WireLimits
    ) throws(WireError) -> UInt64 {
        var total: UInt64 = 0
        for frame in payload {
            let count = frame.withUnsafeBytes { UInt64($0.count) }
            let (sum, overflow) = total.addingReportingOverflow(count)
            guard !overflow, sum <= limits.maxPayloadBytes else {
                throw .oversized(.payload, size: overflow ? .max : sum, limit: limits.maxPayloadBytes)
            }
            total = sum
        }
        return total
    }

    /// Step-transaction bodies repeat the envelope's step; both must agree.
    private static func checkStep(_ envelope: Envelope, _ body: Body) throws(WireError) {
        let bodyStep: UInt64? = switch body {
        case let .stepPlan(plan): plan.step
        case let .stepDone(done): done.step
        case let .commit(commit): commit.step
        case let .abort(abort): abort.step
        default: nil
        }
        if let bodyStep, bodyStep != envelope.step {
            throw .malformed(.envelope, "step \(envelope.step) differs from the \(body.type) step \(bodyStep)")
        }
    }

    /// Only chunk bodies carry payload, and their fields fix or bound its size.
    private static func checkPayloadAgainstBody(_ body: Body, payloadLength: UInt64) throws(WireError) {
        switch body {
        case let .ringChunkHeader(header):
            let (expected, overflow) = header.elementCount.multipliedReportingOverflow(by: UInt64(header.elementBytes))
            guard !overflow, expected == payloadLength else {
                throw .payloadLengthMismatch(declared: overflow ? .max : expected, actual: payloadLength)
            }
        case let .stateChunk(chunk):
            try checkRange(offset: chunk.offset, length: payloadLength, total: chunk.totalBytes)
        case let .checkpointChunk(chunk):
            try checkRange(offset: chunk.offset, length: payloadLength, total: chunk.totalBytes)
        default:
            guard payloadLength == 0 else { throw .payloadLengthMismatch(declared: 0, actual: payloadLength) }
        }
    }

    private static func checkRange(offset: UInt64, length: UInt64, total: UInt64) throws(WireError) {
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow, end <= total else {
            throw .malformed(.body, "chunk at offset \(offset) with \(length) bytes runs past total_bytes \(total)")
        }
    }

    /// `ContiguousBytes.withUnsafeBytes` only rethrows untyped errors; this keeps the `WireError` type.
    private static func withBytes<Frame: ContiguousBytes, R>(
        _ frame: Frame, _ body: (UnsafeRawBufferPointer) throws(WireError) -> R
    ) throws(WireError) -> R {
        let result: Result<R, WireError> = frame.withUnsafeBytes { bytes in
            Result { () throws(WireError) in try body(bytes) }
        }
        return try result.get()
    }
}
