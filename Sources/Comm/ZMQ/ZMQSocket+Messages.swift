import CZeroMQ

// MARK: - Multipart send and receive

/// Frames of one received multipart message. When the message had more frames than the cap, `frames`
/// holds the first `cap` and the rest were drained and dropped (`totalFrames` counts them all).
public struct ZMQMultipart {
    public var frames: [Frame]
    public var totalFrames: Int

    /// Whether frames were dropped because the message exceeded the cap.
    public var wasTruncated: Bool { totalFrames > frames.count }
}

extension ZMQSocket {
    /// Sends `frames` as one multipart message, consuming them (each frame is empty afterwards, so a
    /// zero-copy frame's buffer now belongs to libzmq until its release callback runs).
    ///
    /// Blocks at most `timeout` for the first frame (SNDTIMEO; libzmq queues a multipart message atomically,
    /// so later frames never block). `EAGAIN` throws `.timeout` and leaves the frames unsent; on a ROUTER
    /// with `ZMQ_ROUTER_MANDATORY`, an unknown first frame (identity) throws `.failed(EHOSTUNREACH)`.
    public func send(_ frames: consuming [Frame], timeout: Duration) throws(ZMQError) {
        precondition(!frames.isEmpty, "ZMQSocket.send: a message has at least one frame")
        let handle = try open("zmq_msg_send")
        try setSendTimeout(timeout)
        let last = frames.count - 1
        for (index, frame) in frames.enumerated() {
            let flags: Int32 = index < last ? ZMQ_SNDMORE : 0
            try withExtendedLifetime(frame) { () throws(ZMQError) in
                _ = try zmqCall("zmq_msg_send") { zmq_msg_send(frame.message, handle, flags) }
            }
        }
    }

    /// Receives one multipart message; without `wait`, `DONTWAIT` (throws `.timeout` when none is queued).
    ///
    /// Each frame arrives with `zmq_msg_recv`, so nothing is truncated (notes pitfall 7) and nothing is
    /// copied. At most `maxFrames` frames are kept; the rest are drained so the next call starts at a
    /// message boundary.
    public func receive(maxFrames: Int, wait: Bool = false) throws(ZMQError) -> ZMQMultipart {
        precondition(maxFrames >= 1, "ZMQSocket.receive: maxFrames must be positive")
        let handle = try open("zmq_msg_recv")
        var frames: [Frame] = []
        var total = 0
        var flags: Int32 = wait ? 0 : ZMQ_DONTWAIT
        let scratch = Frame()
        var more = true
        while more {
            let frame = frames.count < maxFrames ? Frame() : scratch
            try zmqCall("zmq_msg_recv") { zmq_msg_recv(frame.message, handle, flags) }
            if frame !== scratch { frames.append(frame) }
            total += 1
            flags = 0  // the rest of a multipart message is already queued
            more = zmq_msg_more(frame.message) != 0
        }
        return ZMQMultipart(frames: frames, totalFrames: total)
    }
}

// MARK: - Poll

/// Readiness flags for `zmqPoll`.
public struct ZMQEvents: OptionSet, Sendable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }
    public static let readable = ZMQEvents(rawValue: Int16(ZMQ_POLLIN))
    public static let writable = ZMQEvents(rawValue: Int16(ZMQ_POLLOUT))
}

/// Waits up to `timeout` until one of `sockets` has one of its requested events; returns the ready events
/// per socket (empty sets on timeout). `EINTR` restarts the wait with the remaining time.
public func zmqPoll(_ sockets: [(socket: ZMQSocket, events: ZMQEvents)],
                    timeout: Duration) throws(ZMQError) -> [ZMQEvents] {
    var items: [zmq_pollitem_t] = []
    for entry in sockets {
        items.append(zmq_pollitem_t(socket: try entry.socket.open("zmq_poll"), fd: -1,
                                    events: entry.events.rawValue, revents: 0))
    }
    let deadline = ContinuousClock.now + timeout
    while true {
        let remaining = zmqMilliseconds(ContinuousClock.now.duration(to: deadline))
        let result = withExtendedLifetime(sockets) {
            items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, Int32($0.count), Int(remaining)) }
        }
        if result >= 0 { return items.map { ZMQEvents(rawValue: $0.revents) } }
        let code = zmq_errno()
        if code != EINTR { throw ZMQError.classify(code, "zmq_poll") }
    }
}
