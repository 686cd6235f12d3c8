// MARK: - How one fuzzer input becomes a multipart message (shared by the harness and the seed generator)

/// Input layout: byte 0 is a mode byte, the rest are frames.
///   bit 0 clear: the rest is one frame (frame 1 only);
///   bit 0 set:   the rest is frames, each a 4-byte little-endian length and that many bytes
///                (a length past the end takes what is left);
///   bit 1 set:   decode with `expectedRunID: FuzzFormat.runID`, else with nil;
///   bit 2 set:   body mode (overrides bit 0): the rest is a message type byte, the envelope step
///                (8 bytes little-endian) and body bytes, wrapped here into a well-formed version-1
///                envelope, so that byte-level mutations reach the body decoders (in the other modes
///                most body edits break the envelope's length prefix first).
/// An empty input is zero frames.
enum FuzzFormat {
    static let runID = RunID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)

    static func frames(_ input: UnsafeRawBufferPointer) -> (frames: [[UInt8]], expected: RunID?) {
        guard let mode = input.first else { return ([], nil) }
        let expected: RunID? = mode & 2 != 0 ? runID : nil
        let rest = UnsafeRawBufferPointer(rebasing: input[1...])
        if mode & 4 != 0 { return ([bodyModeEnvelope(rest)], expected) }
        guard mode & 1 != 0 else { return ([Array(rest)], expected) }
        var frames: [[UInt8]] = []
        var index = 0
        while index < rest.count {
            var length = 0
            for shift in 0..<4 where index < rest.count {
                length |= Int(rest[index]) << (8 * shift)
                index += 1
            }
            let end = index + min(length, rest.count - index)
            frames.append(Array(rest[index..<end]))
            index = end
        }
        return (frames, expected)
    }

    /// A version-1 envelope (run id `runID`, no payload) around the body bytes of a body-mode input.
    static func bodyModeEnvelope(_ rest: UnsafeRawBufferPointer) -> [UInt8] {
        let type = UInt64(rest.first ?? 0)
        var step: UInt64 = 0
        for index in rest.indices.dropFirst().prefix(8) { step |= UInt64(rest[index]) << (8 * UInt64(index - 1)) }
        let body = rest.count > 9 ? Array(rest[9...]) : []
        var out: [UInt8] = []
        func varint(_ value: UInt64) {
            var rest = value
            while rest >= 0x80 {
                out.append(UInt8(truncatingIfNeeded: rest) | 0x80)
                rest >>= 7
            }
            out.append(UInt8(rest))
        }
        out.append(0x08)  // field 1 type
        varint(type)
        out.append(0x10)  // field 2 protocol_version
        varint(1)
        out.append(0x1A)  // field 3 run_id
        varint(16)
        out += runID.bytes
        out.append(0x28)  // field 5 step
        varint(step)
        out.append(0x4A)  // field 9 body
        varint(UInt64(body.count))
        return out + body
    }

    /// A body-mode input (see the layout above).
    static func serializeBody(type: MessageType, step: UInt64, body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [4 | 2, UInt8(truncatingIfNeeded: type.rawValue)]
        for shift in 0..<8 { out.append(UInt8(truncatingIfNeeded: step >> (8 * UInt64(shift)))) }
        return out + body
    }

    static func serialize(_ frames: [[UInt8]], expectRun: Bool) -> [UInt8] {
        var out: [UInt8] = [1 | (expectRun ? 2 : 0)]
        for frame in frames {
            for shift in 0..<4 { out.append(UInt8(truncatingIfNeeded: frame.count >> (8 * shift))) }
            out += frame
        }
        return out
    }
}
