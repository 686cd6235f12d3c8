import Wire

// MARK: - Sending a payload written where it travels

/// What a sender wrote in place (`InPlaceSending`): the message body (which may depend on what was written,
/// e.g. a width), the payload frames as byte ranges of the area it was given, in order, and their CRC32C.
public struct InPlacePayload {
    public var body: Body
    public var frames: [Range<Int>]
    public var crc: UInt32

    public init(body: Body, frames: [Range<Int>], crc: UInt32) {
        self.body = body
        self.frames = frames
        self.crc = crc
    }

    /// The header frame for sending this payload with `envelope`: its length and CRC as written.
    func header(for envelope: Envelope) -> [UInt8] {
        var described = envelope
        described.payloadLength = UInt64(frames.reduce(0) { $0 + $1.count })
        described.payloadCRC32C = crc
        return WireCodec.encodeHeader(described, body: body)
    }
}

/// A transport whose sender can compute a payload straight into the memory the message travels in: a
/// payload produced just before it is sent (exact mode's partial sums) is then written once, instead of
/// once into a buffer and again by the transport's copy. The shared-memory link offers it (the slot).
public protocol InPlaceSending: Transport {
    /// Sends one message whose payload `write` puts in place. `write` gets the payload area (64-byte aligned)
    /// and returns the body, the frames it wrote and their CRC32C; the envelope's payload length and CRC are
    /// filled in from those (a wrong CRC is sent as given: the receiver then rejects the message). Blocks
    /// at most `timeout` for room, like `send`.
    func send(_ envelope: Envelope, timeout: Duration,
              writing write: (UnsafeMutableRawBufferPointer) -> InPlacePayload) throws(TransportError)
}
