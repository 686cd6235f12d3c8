#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials  // ProcessInfo
#else
import Foundation
#endif
import ShmC
import Wire

// MARK: - Ring data plane between processes on one host: a mailbox in shared memory

/// A one-way `Transport` (the ring's PUSH -> PULL link) through a POSIX shared-memory mailbox instead of
/// a socket, for ring neighbours on the same host. Same contract as `ZMQTransport`: the same encoded
/// messages (protobuf-c envelope with payload CRC32C), every received message validated by
/// `WireCodec.decode`, invalid ones counted and dropped, every wait bounded by its timeout. The payload's
/// CRC32C can be left to the consumer (`PayloadCheckDeferring`: the ring checks it while it adds or stores).
///
/// Why: over loopback sockets each chunk crosses two libzmq I/O threads and the kernel (two copies and
/// ~65 µs of wake-ups per message on a small host); here the sender copies a chunk once into a slot and
/// the receiver adds it straight from the slot (docs/BENCHMARKS.md, run 9).
///
/// Endpoints are `shm://NAME` (`/dev/shm/NAME`, mode 0600, same user only). The receiver creates the
/// mailbox (`.receiver`); a sender (`.sender`) attaches lazily on its first send, waiting within that
/// send's timeout for the receiver to exist, and takes the mailbox over from a previous sender (a ring
/// neighbour that was replaced, even one that hangs: it gets `.peerUnreachable` from then on). A dead
/// peer process is noticed within ~20 ms: the waiting side throws `.peerUnreachable`; a silent or stopped
/// one at the deadline. A message whose payload exceeds the receiver's `largestPayload` is refused with
/// `.messageTooLarge`. Thread-confined like every transport, except that received frames may be dropped
/// on any thread.
public final class SharedMemoryTransport: PayloadCheckDeferring, InPlaceSending {
    public enum Role: Sendable {
        /// Creates the mailbox: `slots` messages in flight, each with up to `largestPayload` bytes of payload.
        case receiver(slots: Int, largestPayload: Int)
        case sender
    }

    public static let scheme = "shm://"
    /// Room for the header frame at the start of a slot; payload frames follow it.
    static let headerRoom = 16 << 10

    /// How long a wait polls before it sleeps, for `ranksOnHost` ring ranks on this host. Polling keeps a
    /// rank on its core (ranks that sleep on every chunk get woken onto one core: a third of the 4 MiB
    /// bandwidth here); with more ranks than cores a poll only steals the core a neighbour needs.
    public static func spin(ranksOnHost: Int,
                            cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Duration {
        ranksOnHost <= cores ? .milliseconds(1) : .zero
    }

    /// Slot size that holds the header and `payloadBytes` of payload in any number of frames.
    static func slotBytes(payloadBytes: Int) -> Int {
        headerRoom + payloadBytes + Int(NM_SHM_MAX_FRAMES) * SlotLayout.alignment
    }

    public let endpoint: String
    public let counters = TransportCounters()
    private let name: String
    private let role: Role
    private let expectedRunID: RunID?
    private let limits: WireLimits
    private let spin: Duration
    private let log: @Sendable (String) -> Void
    private var mailbox: SharedMemoryMailbox?
    private var isClosed = false
    /// Sender: plain or streaming copies of large frames, by what they cost on this host now.
    private var copyPolicy = SlotCopyPolicy()
    /// When a switch of copy kind was last logged (nm_shm_now_ns), to log at most one a minute.
    private var lastCopySwitchLogged: Int64?

    /// - Parameters: `spin`: how long a wait polls before it sleeps (`spin(ranksOnHost:)`).
    public init(endpoint: String, role: Role, expectedRunID: RunID?, limits: WireLimits = .standard,
                spin: Duration = .zero,
                log: @escaping @Sendable (String) -> Void = { _ in }) throws(TransportError) {
        guard let name = Self.mailboxName(endpoint) else {
            throw .endpoint("\(endpoint) is not a shared-memory endpoint",
                            hint: "use shm://NAME with a NAME of letters, digits, '-', '_' or '.'")
        }
        self.endpoint = endpoint
        self.name = name
        self.role = role
        self.expectedRunID = expectedRunID
        self.limits = limits
        self.spin = spin
        self.log = log
        if case let .receiver(slots, largestPayload) = role {
            let created = try SharedMemoryMailbox.create(name: name, slots: slots,
                                                         slotBytes: Self.slotBytes(payloadBytes: largestPayload))
            created.setSpin(spin)
            mailbox = created
        }
    }

    deinit { close() }

    /// The mailbox name of `shm://NAME`, or nil when `endpoint` is not one.
    public static func mailboxName(_ endpoint: String) -> String? {
        guard endpoint.hasPrefix(scheme) else { return nil }
        let name = endpoint.dropFirst(scheme.count)
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }
        guard !name.isEmpty, name.utf8.count <= 200, allowed, name != ".", name != ".." else { return nil }
        return String(name)
    }

    // MARK: - Sending

    public func send(_ envelope: Envelope, body: Body, payload: [Frame], to peer: PeerID?,
                     timeout: Duration) throws(TransportError) {
        guard !isClosed else { throw .closed }
        guard case .sender = role else {
            preconditionFailure("SharedMemoryTransport \(endpoint): a receiver cannot send")
        }
        precondition(peer == nil, "SharedMemoryTransport \(endpoint): sends go to the one receiver")
        let deadline = monotonicDeadline(after: timeout)
        let layout = SlotLayout(payload: payload.map(\.count))
        let target = try attached(deadline: deadline)
        try check(layout, fit: target)
        // The header is encoded once, after the copy gave its CRC; one too large for its room (never seen:
        // envelopes are ~100 bytes) fails the send before the slot is published, its payload consumed.
        try publish(layout, to: target, deadline: deadline) { slot throws(TransportError) in
            // Copy each frame in, computing the envelope's CRC32C over the bytes just written (in cache)
            // rather than in a pass of its own over the source.
            var described = envelope
            described.payloadLength = UInt64(layout.payloadBytes)
            described.payloadCRC32C = 0
            for (index, frame) in payload.enumerated() {
                frame.withUnsafeBytes { source in
                    described.payloadCRC32C = copyComputingCRC(source, to: slot + Int(layout.offsets[index + 1]),
                                                               seed: described.payloadCRC32C)
                }
                _ = frame.take()   // consumed: a lent buffer is released now, as after a socket send
            }
            let header = WireCodec.encodeHeader(described, body: body)
            try Self.check(header: header.count)
            header.withUnsafeBufferPointer { slot.update(from: $0.baseAddress!, count: $0.count) }
            return header.count
        }
    }

    public func send(_ envelope: Envelope, timeout: Duration,
                     writing write: (UnsafeMutableRawBufferPointer) -> InPlacePayload) throws(TransportError) {
        guard !isClosed else { throw .closed }
        guard case .sender = role else {
            preconditionFailure("SharedMemoryTransport \(endpoint): a receiver cannot send")
        }
        let deadline = monotonicDeadline(after: timeout)
        let target = try attached(deadline: deadline)
        try publish(to: target, deadline: deadline) { slot throws(TransportError) in
            let area = UnsafeMutableRawBufferPointer(start: slot + Self.headerRoom,
                                                     count: target.slotCapacity - Self.headerRoom)
            let payload = write(area)
            precondition(payload.frames.count < Int(NM_SHM_MAX_FRAMES)
                         && payload.frames.allSatisfy { $0.lowerBound >= 0 && $0.upperBound <= area.count },
                         "SharedMemoryTransport \(endpoint): in-place frames \(payload.frames) outside the slot")
            let header = payload.header(for: envelope)
            try Self.check(header: header.count)
            header.withUnsafeBufferPointer { slot.update(from: $0.baseAddress!, count: $0.count) }
            return ([0] + payload.frames.map { UInt64(Self.headerRoom + $0.lowerBound) },
                    [UInt64(header.count)] + payload.frames.map { UInt64($0.count) })
        }
    }

    /// Sends frames exactly as given (frame 0 where the header goes, the others as payload), without
    /// encoding: for tests that inject malformed messages. Consumes the frames.
    public func sendRaw(_ frames: [Frame], timeout: Duration) throws(TransportError) {
        guard !isClosed else { throw .closed }
        precondition(!frames.isEmpty, "SharedMemoryTransport.sendRaw: no frames")
        let deadline = monotonicDeadline(after: timeout)
        let target = try attached(deadline: deadline)
        let layout = SlotLayout(payload: frames.dropFirst().map(\.count))
        let headerBytes = frames[0].count   // read now: the loop below empties the frames
        try check(layout, fit: target)
        try Self.check(header: headerBytes)
        try publish(layout, to: target, deadline: deadline) { slot in
            for (index, frame) in frames.enumerated() {
                frame.withUnsafeBytes { bytes in
                    if let base = bytes.baseAddress, !bytes.isEmpty {
                        let target = UnsafeMutableRawPointer(slot + Int(layout.offsets[index]))
                        target.copyMemory(from: base, byteCount: bytes.count)
                    }
                }
                _ = frame.take()
            }
            return headerBytes
        }
    }

    /// Throws `.messageTooLarge` unless the payload frames of `layout` fit a slot of `target`.
    private func check(_ layout: SlotLayout, fit target: SharedMemoryMailbox) throws(TransportError) {
        guard layout.sizes.count <= Int(NM_SHM_MAX_FRAMES), layout.end <= target.slotCapacity else {
            throw .messageTooLarge(bytes: layout.end, limit: target.slotCapacity)
        }
    }

    /// Throws `.messageTooLarge` unless a header frame of `bytes` fits its room at the start of a slot.
    private static func check(header bytes: Int) throws(TransportError) {
        guard bytes <= Self.headerRoom else { throw .messageTooLarge(bytes: bytes, limit: Self.headerRoom) }
    }

    /// Reserves the next slot (waiting until `deadline`), lets `fill` write the frames at `layout`'s offsets
    /// and return the header frame's size, and publishes the message.
    private func publish(_ layout: SlotLayout, to target: SharedMemoryMailbox, deadline: Int64,
                         fill: (UnsafeMutablePointer<UInt8>) throws(TransportError) -> Int) throws(TransportError) {
        try publish(to: target, deadline: deadline) { slot throws(TransportError) in
            var sizes = layout.sizes
            sizes[0] = UInt64(try fill(slot))
            return (layout.offsets, sizes)
        }
    }

    /// Reserves the next slot (waiting until `deadline`), lets `fill` write a message into it and return its
    /// frame table (offsets and sizes, the header first), and publishes it. A `fill` that throws leaves the
    /// slot unpublished (the next reservation gets it again).
    private func publish(to target: SharedMemoryMailbox, deadline: Int64,
                         fill: (UnsafeMutablePointer<UInt8>) throws(TransportError) -> ([UInt64], [UInt64]))
        throws(TransportError) {
        var reserved: UnsafeMutablePointer<UInt8>?
        let status = nm_shm_reserve(target.handle, deadline, &reserved)
        guard status == 0, let slot = reserved else { throw waitError(status, sending: true) }
        var (offsets, sizes) = try fill(slot)
        let published = nm_shm_publish(target.handle, UInt32(sizes.count), &offsets, &sizes)
        guard published == 0 else { throw SharedMemoryMailbox.systemError("publish to \(name)", published) }
        counters.countSent()
    }

    /// Copies `source` to `destination` and returns CRC32C(seed, source): in one pass where the CPU can fold
    /// (`crc32cCopying`), else in blocks that stay in L1. There a plain copy takes the CRC of the bytes just
    /// written, a streaming one (`SlotCopyPolicy`) of the source, since its stores bypass the cache.
    private func copyComputingCRC(_ source: UnsafeRawBufferPointer, to destination: UnsafeMutablePointer<UInt8>,
                                  seed: UInt32) -> UInt32 {
        guard let base = source.baseAddress else { return seed }
        let kind = copyPolicy.kind(forBytes: source.count)
        let started = nm_shm_now_ns()
        var crc = seed
        if let copied = crc32cCopying(source, to: destination, seed: seed, streaming: kind == .streaming) {
            crc = copied
        } else {
            let block = 16 << 10
            var done = 0
            while done < source.count {
                let n = min(block, source.count - done)
                switch kind {
                case .plain:
                    let target = UnsafeMutableRawPointer(destination + done)
                    target.copyMemory(from: base + done, byteCount: n)
                    crc = crc32c(UnsafeRawBufferPointer(start: target, count: n), seed: crc)
                case .streaming:
                    crc = crc32c(UnsafeRawBufferPointer(start: base + done, count: n), seed: crc)
                    nm_shm_copy_streaming(destination + done, base + done, UInt64(n))
                }
                done += n
            }
        }
        let finished = nm_shm_now_ns()
        if copyPolicy.record(kind, bytes: source.count, nanoseconds: finished - started),
           lastCopySwitchLogged.map({ finished - $0 > 60_000_000_000 }) ?? true {
            lastCopySwitchLogged = finished
            let rate = { (cost: Double?) in cost.map { String(format: "%.1f GB/s", 1 / $0) } ?? "?" }
            log("[transport] \(endpoint): large frames are now copied \(copyPolicy.choice) (plain "
                + "\(rate(copyPolicy.plainCost)), streaming \(rate(copyPolicy.streamingCost)))")
        }
        return crc
    }

    /// The attached mailbox, attaching now if needed (retrying until `deadline` while the receiver does
    /// not exist yet).
    private func attached(deadline: Int64) throws(TransportError) -> SharedMemoryMailbox {
        if let mailbox { return mailbox }
        var pause = Duration.microseconds(100)
        while true {
            if let attached = try SharedMemoryMailbox.attach(name: name) {
                attached.setSpin(spin)
                mailbox = attached
                return attached
            }
            guard nm_shm_now_ns() < deadline else {
                throw .timeout("attach to \(endpoint) (no receiver there)")
            }
            var request = timespec(tv_sec: 0, tv_nsec: Int(pause.nanoseconds))
            nanosleep(&request, nil)
            pause = min(pause * 2, .milliseconds(20))
        }
    }

    // MARK: - Receiving

    public func receive(timeout: Duration) throws(TransportError) -> ReceivedMessage? {
        try receive(timeout: timeout, checkingPayloadCRC: true)
    }

    public func receiveLeavingPayloadCheck(timeout: Duration) throws(TransportError) -> ReceivedMessage? {
        try receive(timeout: timeout, checkingPayloadCRC: false)
    }

    private func receive(timeout: Duration, checkingPayloadCRC: Bool) throws(TransportError) -> ReceivedMessage? {
        guard !isClosed else { throw .closed }
        guard case .receiver = role, let mailbox else {
            preconditionFailure("SharedMemoryTransport \(endpoint): a sender cannot receive")
        }
        let deadline = monotonicDeadline(after: timeout)
        var sizes = [UInt64](repeating: 0, count: Int(NM_SHM_MAX_FRAMES))
        var offsets = sizes
        while true {
            var slot: UInt32 = 0, count: UInt32 = 0
            var data: UnsafePointer<UInt8>?
            let status = nm_shm_take(mailbox.handle, deadline, &slot, &data, &count, &offsets, &sizes)
            switch status {
            case 0:
                let lease = SlotLease(mailbox: mailbox, slot: slot)
                let frames = (0..<Int(count)).map { index in
                    let start = data! + Int(offsets[index])
                    return Frame(lending: UnsafeRawBufferPointer(start: start, count: Int(sizes[index]))) {
                        withExtendedLifetime(lease) {}
                    }
                }
                do throws(WireError) {
                    let message = try WireCodec.decode(frames: frames, expectedRunID: expectedRunID, limits: limits,
                                                       checkingPayloadCRC: checkingPayloadCRC)
                    counters.countReceived()
                    return ReceivedMessage(peer: nil, message: message)
                } catch {
                    counters.countRejected(.wire(error))
                    log("[transport] \(endpoint): dropped a message: \(error)")
                }
            case EBADMSG:
                let error = WireError.malformed(.header, "a shared-memory slot with an invalid frame table")
                counters.countRejected(.wire(error))
                log("[transport] \(endpoint): dropped a message: \(error)")
            case ETIMEDOUT:
                return nil
            default:
                throw waitError(status, sending: false)
            }
        }
    }

    public func close() {
        guard !isClosed else { return }
        isClosed = true
        mailbox = nil   // unmapped once the last lease of a received message is gone too
    }

    private func waitError(_ status: Int32, sending: Bool) -> TransportError {
        switch status {
        case ETIMEDOUT: .timeout(sending ? "send to \(endpoint) (its slots stayed full)" : "receive on \(endpoint)")
        case EPIPE: .peerUnreachable(PeerID(endpoint))
        default: SharedMemoryMailbox.systemError(sending ? "send to \(endpoint)" : "receive on \(endpoint)", status)
        }
    }
}

/// Where a message's frames go in a slot: the header at 0, payload frames from `headerRoom` on, each at a
/// 64-byte boundary. offsets, sizes: [1 + payload frames] (sizes[0], the header's, is filled in at the end).
struct SlotLayout {
    static let alignment = 64

    /// `offset` rounded up to the next frame boundary.
    static func aligned(_ offset: Int) -> Int { (offset + alignment - 1) / alignment * alignment }
    var offsets: [UInt64] = [0]
    var sizes: [UInt64] = [0]
    var payloadBytes = 0
    /// One past the last payload byte.
    var end = SharedMemoryTransport.headerRoom

    init(payload: [Int]) {
        for bytes in payload {
            end = Self.aligned(end)
            offsets.append(UInt64(end))
            sizes.append(UInt64(bytes))
            end += bytes
            payloadBytes += bytes
        }
    }
}
