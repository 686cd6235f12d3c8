// MARK: - libFuzzer entry point over WireCodec.decode

/// Decodes the input as a multipart message (see `FuzzFormat`). Whatever the bytes, decode must
/// return or throw a `WireError`; an accepted message must re-encode to a message that decodes and
/// re-encodes to the same bytes (a crash or a trap here is a finding).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWireDecode(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let (frames, expected) = FuzzFormat.frames(input)
    guard let message = try? WireCodec.decode(frames: frames, expectedRunID: expected, limits: .standard) else {
        return 0
    }
    let payload = message.payload
    let again = WireCodec.encode(message.envelope, body: message.body, payload: payload)
    guard let second = try? WireCodec.decode(frames: [again] + payload, expectedRunID: expected, limits: .standard)
    else { fatalError("fuzz: an accepted message did not survive re-encoding") }
    let third = WireCodec.encode(second.envelope, body: second.body, payload: second.payload)
    precondition(third == again, "fuzz: re-encoding is not stable")
    return 0
}
