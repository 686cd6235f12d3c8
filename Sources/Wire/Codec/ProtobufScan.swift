// MARK: - Why protobuf-c refused some bytes

/// protobuf-c's unpack only says "no". This walks the top-level fields (our messages have no nested
/// messages) to tell a frame cut in the middle of a field (`truncated`) from bytes that are not
/// protobuf at all (`malformed`) and from well-formed fields of the wrong type for the body
/// (`bodyMismatch`).
enum ProtobufScan {
    static func classifyFailure(_ bytes: UnsafeRawBufferPointer, part: WirePart, type: MessageType?) -> WireError {
        var index = 0
        while index < bytes.count {
            guard let key = varint(bytes, &index) else { return endedEarly(bytes, index, part) }
            guard key >> 3 != 0, key >> 3 <= 0x1FFF_FFFF else { return .malformed(part, "field number 0 or too large") }
            switch key & 7 {
            case 0:
                guard varint(bytes, &index) != nil else { return endedEarly(bytes, index, part) }
            case 1, 5:
                let width = key & 7 == 1 ? 8 : 4
                guard bytes.count - index >= width else { return .truncated(part) }
                index += width
            case 2:
                guard let length = varint(bytes, &index) else { return endedEarly(bytes, index, part) }
                guard length <= UInt64(bytes.count - index) else { return .truncated(part) }
                index += Int(length)  // exact: length <= remaining count, an Int
            default:
                return .malformed(part, "wire type \(key & 7) is not used by this protocol")
            }
        }
        if let type { return .bodyMismatch(type) }
        return .malformed(part, "fields have the wrong wire types")
    }

    /// Reads a varint at `index`; nil if the bytes end first or it is longer than 10 bytes
    /// (`index` is then left at the end, or before the 11th byte).
    private static func varint(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if shift < 64 { value |= UInt64(byte & 0x7F) << shift }
            if byte & 0x80 == 0 { return value }
            shift += 7
            if shift >= 70 { return nil }
        }
        return nil
    }

    private static func endedEarly(_ bytes: UnsafeRawBufferPointer, _ index: Int, _ part: WirePart) -> WireError {
        index >= bytes.count ? .truncated(part) : .malformed(part, "varint longer than 10 bytes")
    }
}
