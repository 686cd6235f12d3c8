// MARK: - Size limits applied before any decoding work

/// Upper bounds a decoder enforces on one multipart message before it looks inside.
///
/// The header bound keeps a stranger from making us parse megabytes of protobuf; the payload bound
/// keeps a declared `payload_length` from promising more than a chunk can be; the frame bound keeps
/// a message from arriving as millions of empty frames. Comm should also set `ZMQ_MAXMSGSIZE`.
public struct WireLimits: Sendable, Equatable {
    /// Largest accepted frame 1 (envelope including its body), in bytes.
    public var maxHeaderBytes: Int
    /// Largest accepted total of frames 2..n, in bytes.
    public var maxPayloadBytes: UInt64
    /// Largest accepted number of frames, including frame 1.
    public var maxFrames: Int

    public init(maxHeaderBytes: Int = 256 << 10, maxPayloadBytes: UInt64 = 256 << 20, maxFrames: Int = 64) {
        precondition(maxHeaderBytes > 0 && maxFrames > 0, "WireLimits: limits must be positive")
        self.maxHeaderBytes = maxHeaderBytes
        self.maxPayloadBytes = maxPayloadBytes
        self.maxFrames = maxFrames
    }

    /// 256 KiB header, 256 MiB payload, 64 frames.
    public static let standard = WireLimits()
}
