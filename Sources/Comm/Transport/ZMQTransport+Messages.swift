import CZeroMQ
import Wire

// MARK: - Sending and receiving protocol messages

extension ZMQTransport {
    public func send(_ envelope: Envelope, body: Body, payload: [Frame], to peer: PeerID?,
                     timeout: Duration) throws(TransportError) {
        let header = WireCodec.encode(envelope, body: body, payload: payload)
        try sendRaw([Frame(header)] + payload, to: peer, timeout: timeout)
    }

    /// Sends frames exactly as given (after the routing identity on a ROUTER), without encoding: for tests
    /// that inject malformed messages. Consumes the frames.
    public func sendRaw(_ frames: [Frame], to peer: PeerID?, timeout: Duration) throws(TransportError) {
        guard !isClosed else { throw .closed }
        precondition(role.canSend, "ZMQTransport \(endpoint): a PULL socket cannot send")
        var message = frames
        switch role {
        case .router:
            guard let peer else { preconditionFailure("ZMQTransport \(endpoint): a ROUTER send needs a peer") }
            message.insert(Frame(peer.bytes), at: 0)
        default:
            precondition(peer == nil, "ZMQTransport \(endpoint): only a ROUTER sends to a named peer")
        }
        pollMonitorOccasionally()
        do throws(ZMQError) {
            try socket.send(message, timeout: timeout)
        } catch let .failed(_, code) where code == EHOSTUNREACH {
            throw .peerUnreachable(peer ?? PeerID([]))
        } catch .timeout {
            throw .timeout("send to \(peer.map { "peer \($0) on " } ?? "")\(endpoint) (its queue stayed full)")
        } catch {
            throw error.transportError
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
        precondition(role.canReceive, "ZMQTransport \(endpoint): a PUSH socket cannot receive")
        let deadline = ContinuousClock.now + timeout
        let routed = if case .router = role { true } else { false }
        do throws(ZMQError) {
            while true {
                // Fast path: take a queued message without polling (one libzmq call per message under load).
                switch try receiveOne(routed: routed, checkingPayloadCRC: checkingPayloadCRC) {
                case let .message(message):
                    pollMonitorOccasionally()
                    return message
                case .rejected:
                    if ContinuousClock.now >= deadline { return nil }
                case .empty:
                    processMonitorEvents()
                    let remaining = ContinuousClock.now.duration(to: deadline)
                    guard remaining > .zero else { return nil }
                    let ready = try zmqPoll([(socket, .readable), (monitor.socket, .readable)], timeout: remaining)
                    if ready[1].contains(.readable) { processMonitorEvents() }
                }
            }
        } catch {
            throw error.transportError
        }
    }

    /// What one non-blocking receive found.
    private enum Arrival {
        case message(ReceivedMessage)
        case rejected
        case empty
    }

    /// One queued message, validated; `.rejected` when it was invalid (counted and logged).
    private func receiveOne(routed: Bool, checkingPayloadCRC: Bool) throws(ZMQError) -> Arrival {
        let multipart: ZMQMultipart
        do throws(ZMQError) {
            multipart = try socket.receive(maxFrames: options.limits.maxFrames + (routed ? 1 : 0))
        } catch .timeout {
            return .empty
        }
        var frames = multipart.frames
        let peer = routed ? PeerID(frames.removeFirst().bytes) : nil
        let source = { self.describeSource(peer: peer, frame: multipart.frames[multipart.frames.count - 1]) }
        guard !multipart.wasTruncated else {
            counters.countRejected(.tooManyFrames)
            options.log("[transport] \(endpoint): dropped a message of \(multipart.totalFrames - (routed ? 1 : 0)) "
                            + "frames from \(source()): more than \(options.limits.maxFrames) frames")
            return .rejected
        }
        do throws(WireError) {
            let message = try WireCodec.decode(frames: frames, expectedRunID: options.expectedRunID,
                                               limits: options.limits, checkingPayloadCRC: checkingPayloadCRC)
            counters.countReceived()
            return .message(ReceivedMessage(peer: peer, message: message))
        } catch {
            counters.countRejected(.wire(error))
            options.log("[transport] \(endpoint): dropped a message from \(source()): \(error)")
            return .rejected
        }
    }

    /// "peer <id> (<address>)": the routing identity and, for tcp, the sender's address.
    private func describeSource(peer: PeerID?, frame: Frame) -> String {
        let address = zmq_msg_gets(frame.message, "Peer-Address").map { String(cString: $0) }
        switch (peer, address) {
        case let (peer?, address?): return "peer \(peer) (\(address))"
        case let (peer?, nil): return "peer \(peer)"
        case let (nil, address?): return address
        case (nil, nil): return "a peer"
        }
    }

    /// Counts and logs failed handshakes reported by the socket monitor (refused CURVE keys are counted by
    /// the ZAP handler, so authentication events are only logged here) and logs disconnects (libzmq also
    /// drops a connection that sends a frame over `ZMQ_MAXMSGSIZE`, without saying why).
    /// Drains the monitor every `monitorInterval` operations on the busy path (idle receives always do).
    func pollMonitorOccasionally() {
        operationsSinceMonitor += 1
        if operationsSinceMonitor >= Self.monitorInterval { processMonitorEvents() }
    }

    func processMonitorEvents() {
        operationsSinceMonitor = 0
        guard let events = try? monitor.drain() else { return }
        for event in events where event.isHandshakeFailure || event.isAuthenticationFailure || event.isDisconnect {
            if event.isHandshakeFailure { counters.countRejected(.handshake) }
            if event.isDisconnect { counters.countDisconnect() }
            options.log("[transport] \(endpoint): \(event.name): connection on \(event.endpoint)")
        }
    }
}
