// MARK: - How one fuzzer input becomes a multipart message (shared by the harness and the seed generator)

/// Input layout: byte 0 is a mode byte, the rest are frames.
///   bit 0 clear: the rest is one frame (frame 1 only);
///   bit 0 set:   the rest is frames, each a 4-byte little-endian length and that many bytes
///                (a length past the end takes what is left);
///   bit 1 set:   decode with `expectedRunID: FuzzFormat.runID`, else with nil.
/// An empty input is zero frames.
enum FuzzFormat {
    static let runID = RunID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)

    static func frames(_ input: UnsafeRawBufferPointer) -> (frames: [[UInt8]], expected: RunID?) {
        guard let mode = input.first else { return ([], nil) }
        let expected: RunID? = mode & 2 != 0 ? runID : nil
        let rest = UnsafeRawBufferPointer(rebasing: input[1...])
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

    static func serialize(_ frames: [[UInt8]], expectRun: Bool) -> [UInt8] {
        var out: [UInt8] = [1 | (expectRun ? 2 : 0)]
        for frame in frames {
            for shift in 0..<4 { out.append(UInt8(truncatingIfNeeded: frame.count >> (8 * shift))) }
            out += frame
        }
        return out
    }
}
