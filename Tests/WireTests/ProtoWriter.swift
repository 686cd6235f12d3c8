import Wire

// MARK: - Hand-made protobuf bytes, for inputs the codec itself would never produce

/// Writes protobuf fields directly (varint and length-delimited), so tests can build envelopes with
/// unknown types, extra fields or foreign bodies.
struct ProtoWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func field(_ number: UInt64, varint value: UInt64) {
        varint(number << 3)
        varint(value)
    }

    mutating func field(_ number: UInt64, bytes value: [UInt8]) {
        varint(number << 3 | 2)
        varint(UInt64(value.count))
        bytes += value
    }
}

/// An envelope with the given raw field values (field numbers of neighbormae.v1.Envelope).
func rawEnvelope(type: UInt64, version: UInt64 = 1, run: [UInt8] = sampleRun.bytes, step: UInt64 = 0,
                 payloadLength: UInt64 = 0, crc: UInt64 = 0, body: [UInt8], extraField: UInt64? = nil) -> [UInt8] {
    var writer = ProtoWriter()
    writer.field(1, varint: type)
    writer.field(2, varint: version)
    writer.field(3, bytes: run)
    writer.field(5, varint: step)
    writer.field(7, varint: payloadLength)
    writer.field(8, varint: crc)
    writer.field(9, bytes: body)
    if let extraField { writer.field(extraField, varint: 1) }
    return writer.bytes
}

/// Decodes and returns the thrown error (nil when the message was accepted).
func rejection(_ frames: [[UInt8]], expectedRunID: RunID? = sampleRun,
               limits: WireLimits = .standard) -> WireError? {
    do {
        _ = try WireCodec.decode(frames: frames, expectedRunID: expectedRunID, limits: limits)
        return nil
    } catch {
        return error
    }
}
