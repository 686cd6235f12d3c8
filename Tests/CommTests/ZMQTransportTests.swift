import Comm
import Synchronization
import Foundation
import Testing
import Wire

@Suite("ZMQTransport (real sockets)", .serialized)
struct ZMQTransportTests {
    @Test("router <-> dealer over tcp: messages with payload both ways, the peer identity routes the reply")
    func routerDealerTCP() throws {
        let fixture = try ZMQFixture()
        let server = try ZMQTransport(context: fixture.context, role: .router(bind: "tcp://127.0.0.1:0"),
                                      options: fixture.options(.insecureLoopback))
        let client = try ZMQTransport(context: fixture.context, role: .dealer(connect: server.endpoint),
                                      options: fixture.options(.insecureLoopback))
        defer { client.close(); server.close() }
        #expect(server.endpoint.hasPrefix("tcp://127.0.0.1:") && !server.endpoint.hasSuffix(":0"))

        let (envelope, body) = fixture.chunk(patternBytes(64 << 10))
        try client.send(envelope, body: body, payload: [Frame(patternBytes(64 << 10))], to: nil, timeout: .seconds(2))
        let request = try receiveExpecting(server)
        let peer = try #require(request.peer)
        #expect(request.message.body == body && request.message.envelope.step == 1)
        #expect(request.message.payload.map(\.bytes) == [patternBytes(64 << 10)])

        let (replyEnvelope, replyBody) = fixture.chunk(patternBytes(256, seed: 9), step: 2)
        try server.send(replyEnvelope, body: replyBody, payload: [Frame(patternBytes(256, seed: 9))], to: peer,
                        timeout: .seconds(2))
        let reply = try receiveExpecting(client)
        #expect(reply.peer == nil)
        #expect(reply.message.envelope.step == 2)
        #expect(reply.message.payload.map(\.bytes) == [patternBytes(256, seed: 9)])
        #expect(server.counters.snapshot.received == 1 && server.counters.snapshot.sent == 1)
        #expect(client.counters.snapshot.received == 1 && client.counters.snapshot.sent == 1)
        #expect(server.counters.snapshot.rejectedTotal == 0 && fixture.lines.all.isEmpty)
    }

    @Test("push -> pull over ipc and tcp: zero-copy payload frames arrive intact and release once",
          arguments: ["ipc", "tcp"])
    func pushPull(_ scheme: String) throws {
        let fixture = try ZMQFixture()
        let (bind, security): (String, TransportSecurity) = scheme == "ipc"
            ? (fixture.ipc("pull"), .none) : ("tcp://127.0.0.1:0", .insecureLoopback)
        let pull = try ZMQTransport(context: fixture.context, role: .pull(bind: bind),
                                    options: fixture.options(security))
        let push = try ZMQTransport(context: fixture.context, role: .push(connect: pull.endpoint),
                                    options: fixture.options(security))
        defer { push.close(); pull.close() }
        let data = patternBytes(1 << 20, seed: 3)
        let released = EventCounter()
        try data.withUnsafeBytes { bytes in
            for step in 1...3 {
                let (envelope, body) = fixture.chunk(data, step: UInt64(step))
                try push.send(envelope, body: body, payload: [Frame(lending: bytes, onRelease: released.record)],
                              to: nil, timeout: .seconds(2))
            }
            for step in 1...3 {
                let message = try receiveExpecting(pull)
                #expect(message.message.envelope.step == UInt64(step))
                #expect(message.message.payload.map(\.bytes) == [data])
            }
            #expect(released.wait(for: 3), "each zero-copy frame released once libzmq is done with it")
        }
        #expect(pull.counters.snapshot.received == 3 && push.counters.snapshot.sent == 3)
    }

    @Test("a ROUTER send to an unknown peer throws peerUnreachable; receive times out with nil")
    func peerUnreachable() throws {
        let fixture = try ZMQFixture()
        let server = try ZMQTransport(context: fixture.context, role: .router(bind: fixture.ipc("router")),
                                      options: fixture.options())
        defer { server.close() }
        let (envelope, body) = fixture.leave()
        #expect(throws: TransportError.peerUnreachable(PeerID("nobody"))) {
            try server.send(envelope, body: body, payload: [], to: PeerID("nobody"), timeout: .seconds(1))
        }
        let start = ContinuousClock.now
        #expect(try server.receive(timeout: .milliseconds(50)) == nil)
        #expect(ContinuousClock.now - start >= .milliseconds(45))
        server.close()
        #expect(throws: TransportError.closed) { try server.receive(timeout: .seconds(1)) }
    }

    @Test("socket options follow TransportOptions: heartbeats, HWM from the byte budget, MAXMSGSIZE, LINGER")
    func socketOptions() throws {
        let fixture = try ZMQFixture()
        var options = fixture.options(.insecureLoopback)
        options.heartbeat = (.milliseconds(250), .milliseconds(900))
        options.highWaterMarkBytes = 64 << 20
        options.typicalMessageBytes = 4 << 20
        options.linger = .milliseconds(123)
        options.limits = WireLimits(maxHeaderBytes: 1 << 16, maxPayloadBytes: 8 << 20, maxFrames: 4)
        let server = try ZMQTransport(context: fixture.context, role: .router(bind: "tcp://127.0.0.1:0"),
                                      options: options)
        defer { server.close() }
        #expect(try server.option(.heartbeatInterval) == 250)
        #expect(try server.option(.heartbeatTimeout) == 900)
        #expect(try server.option(.heartbeatTTL) == 900)
        #expect(try server.option(.sendHighWaterMark) == 16 && server.option(.receiveHighWaterMark) == 16)
        #expect(try server.option(.maxMessageSize) == 8 << 20)
        #expect(try server.option(.linger) == 123)

        options.highWaterMarkBytes = 1 << 20
        options.heartbeat = nil
        let small = try ZMQTransport(context: fixture.context, role: .pull(bind: "tcp://127.0.0.1:0"), options: options)
        defer { small.close() }
        #expect(try small.option(.sendHighWaterMark) == 2, "at least 2 messages whatever the budget")
        #expect(try small.option(.heartbeatInterval) == 0)
    }

    @Test("a bind to an address in use throws an endpoint error with a hint")
    func addressInUse() throws {
        let fixture = try ZMQFixture()
        let first = try ZMQTransport(context: fixture.context, role: .pull(bind: "tcp://127.0.0.1:0"),
                                     options: fixture.options(.insecureLoopback))
        defer { first.close() }
        do {
            _ = try ZMQTransport(context: fixture.context, role: .pull(bind: first.endpoint),
                                 options: fixture.options(.insecureLoopback))
            Issue.record("a second bind to \(first.endpoint) succeeded")
        } catch {
            guard case let .endpoint(what, hint) = error else { Issue.record("unexpected \(error)"); return }
            #expect(what.contains(first.endpoint) && hint.contains("another process"))
        }
    }
}
