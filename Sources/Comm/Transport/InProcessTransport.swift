import Foundation
import Synchronization
import Wire

// MARK: - Transport double: same contract as ZMQTransport, no sockets

/// An in-process `Transport` for unit tests: N ranks as N threads, each with its own instance.
///
/// Messages are encoded with `WireCodec` on send and validated with `WireCodec.decode` on receive,
/// exactly like the ZeroMQ transport, so protocol code sees identical behaviour (including rejected
/// messages). Payload frames are moved, not copied: zero-copy frames release when the receiver drops them.
/// Like the shared-memory link it can leave payload CRCs to the consumer (`PayloadCheckDeferring`) and take
/// payloads written in place (`InPlaceSending`), so ring tests run the ring's own checks and in-place sums.
public final class InProcessTransport: PayloadCheckDeferring, InPlaceSending {
    public let name: String
    public let counters = TransportCounters()
    private let network: InProcessNetwork
    private let defaultPeer: String?
    private let expectedRunID: RunID?
    private let limits: WireLimits
    private let log: @Sendable (String) -> Void
    private let inbox: InProcessMailbox
    private var isClosed = false

    /// - Parameters:
    ///   - name: this endpoint's address on `network` (and the `PeerID` receivers see).
    ///   - defaultPeer: where sends with `peer == nil` go (a DEALER's or PUSH's one connection).
    ///   - capacity: queued messages before a sender blocks (the HWM).
    public init(name: String, network: InProcessNetwork, defaultPeer: String? = nil, expectedRunID: RunID?,
                limits: WireLimits = .standard, capacity: Int = 64,
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.name = name
        self.network = network
        self.defaultPeer = defaultPeer
        self.expectedRunID = expectedRunID
        self.limits = limits
        self.log = log
        self.inbox = network.register(name, capacity: capacity)
    }

    deinit { close() }

    public func send(_ envelope: Envelope, body: Body, payload: [Frame], to peer: PeerID?,
                     timeout: Duration) throws(TransportError) {
        let header = WireCodec.encode(envelope, body: body, payload: payload)
        try sendRaw([Frame(header)] + payload.map { $0.take() }, to: peer, timeout: timeout)
    }

    /// Writes the payload into a buffer of its own (`inPlaceBytes`, the largest payload an in-place send may
    /// write) and sends copies of the frames written, with the CRC as given: a wrong one reaches the receiver
    /// as it would through a shared-memory slot.
    public func send(_ envelope: Envelope, timeout: Duration,
                     writing write: (UnsafeMutableRawBufferPointer) -> InPlacePayload) throws(TransportError) {
        let area = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.inPlaceBytes, alignment: 64)
        defer { area.deallocate() }
        let payload = write(area)
        let header = payload.header(for: envelope)
        let frames = payload.frames.map { Frame(copying: UnsafeRawBufferPointer(rebasing: area[$0])) }
        try sendRaw([Frame(header)] + frames, to: nil, timeout: timeout)
    }

    /// Room an in-place send gets: a ring chunk of 1 MiB of floats at 8 bytes per element, with room to spare.
    public static let inPlaceBytes = 4 << 20

    /// Sends frames as they are, without encoding: for tests that inject malformed messages.
    public func sendRaw(_ frames: [Frame], to peer: PeerID?, timeout: Duration) throws(TransportError) {
        guard !isClosed else { throw .closed }
        guard let target = peer?.description ?? defaultPeer else {
            preconditionFailure("InProcessTransport \(name): send without a peer and no default peer")
        }
        guard let box = network.mailbox(target) else { throw .peerUnreachable(peer ?? PeerID(target)) }
        guard box.put((PeerID(name), frames), deadline: .now + timeout) else {
            throw .timeout("send to \(target) (its queue stayed full)")
        }
        counters.countSent()
    }

    public func receive(timeout: Duration) throws(TransportError) -> ReceivedMessage? {
        try receive(timeout: timeout, checkingPayloadCRC: true)
    }

    public func receiveLeavingPayloadCheck(timeout: Duration) throws(TransportError) -> ReceivedMessage? {
        try receive(timeout: timeout, checkingPayloadCRC: false)
    }

    private func receive(timeout: Duration, checkingPayloadCRC: Bool) throws(TransportError) -> ReceivedMessage? {
        guard !isClosed else { throw .closed }
        let deadline = ContinuousClock.now + timeout
        while let entry = try inbox.take(deadline: deadline) {
            do throws(WireError) {
                let message = try WireCodec.decode(frames: entry.frames, expectedRunID: expectedRunID, limits: limits,
                                                   checkingPayloadCRC: checkingPayloadCRC)
                counters.countReceived()
                return ReceivedMessage(peer: entry.from, message: message)
            } catch {
                counters.countRejected(.wire(error))
                log("[transport] \(name): dropped a message from \(entry.from): \(error)")
            }
        }
        return nil
    }

    public func close() {
        guard !isClosed else { return }
        isClosed = true
        network.unregister(name)
    }
}
