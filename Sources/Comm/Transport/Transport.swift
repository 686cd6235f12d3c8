import Wire

// MARK: - The message transport both planes use

/// A validated message and the peer it came from (`nil` on sockets without routing identities).
public struct ReceivedMessage: Sendable {
    public var peer: PeerID?
    public var message: WireMessage<Frame>

    public init(peer: PeerID?, message: WireMessage<Frame>) {
        self.peer = peer
        self.message = message
    }
}

/// One endpoint that sends and receives protocol messages (envelope + body + raw payload frames).
///
/// Thread-confined: create and use an instance on one dedicated OS thread (a socket loop), never on the
/// Swift concurrency pool, because its calls block. Only `counters` may be read from other threads.
///
/// Implementations: `ZMQTransport` (real sockets), `SharedMemoryTransport` (same-host ring links) and
/// `InProcessTransport` (a double for unit tests). All validate every incoming message with `WireCodec.decode`
/// before returning it (`PayloadCheckDeferring` may leave the payload's CRC32C to a consumer that checks it).
public protocol Transport: AnyObject {
    /// Sends one message; fills in the envelope's payload length and CRC32C from `payload`.
    /// The payload frames are consumed (empty afterwards). `peer` is required on routing sockets
    /// (coordinator side) and must be `nil` elsewhere. Blocks at most `timeout` when the peer's queue is full.
    func send(_ envelope: Envelope, body: Body, payload: [Frame], to peer: PeerID?,
              timeout: Duration) throws(TransportError)

    /// The next valid message, or `nil` when none arrived within `timeout`. Invalid messages are
    /// counted, logged with the reason and dropped; waiting then continues until the same deadline.
    func receive(timeout: Duration) throws(TransportError) -> ReceivedMessage?

    /// Counters of sent, received and rejected messages (safe to read from any thread).
    var counters: TransportCounters { get }

    /// Closes the endpoint; later calls throw `.closed`. Idempotent.
    func close()
}
