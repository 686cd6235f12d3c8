import Comm
import Foundation
import Testing
import Wire

/// Malformed messages, each sent from a raw socket to a ZMQTransport ROUTER over loopback tcp.
enum BadInput: String, CaseIterable, Sendable, CustomStringConvertible {
    case truncatedHeader, missingPayloadFrame, tooManyFrames, wrongVersion, wrongRunID, crcMismatch,
         payloadLengthMismatch, oversizedPayload, garbage, unknownType

    var description: String { rawValue }

    /// The counter key the server must count it under.
    var key: String {
        switch self {
        case .truncatedHeader: "truncated"
        case .missingPayloadFrame, .payloadLengthMismatch: "payloadLengthMismatch"
        case .tooManyFrames: "tooManyFrames"
        case .wrongVersion: "unsupportedVersion"
        case .wrongRunID: "wrongRunID"
        case .crcMismatch: "crcMismatch"
        case .oversizedPayload: "oversized"
        case .garbage: "malformed"
        case .unknownType: "unknownType"
        }
    }

    /// The raw frames (after the DEALER's routing) for a server expecting `fixture.run` and `limits`.
    func frames(_ fixture: ZMQFixture, limits: WireLimits) -> [[UInt8]] {
        let payload = patternBytes(64)
        let (envelope, body) = fixture.chunk(payload)
        let good = WireCodec.encode(envelope, body: body, payload: [payload])
        switch self {
        case .truncatedHeader:
            return [Array(good.prefix(good.count - 3)), payload]
        case .missingPayloadFrame:
            return [good]
        case .tooManyFrames:
            return [good] + Array(repeating: [UInt8](), count: limits.maxFrames + 5)
        case .wrongVersion:
            var other = envelope
            other.protocolVersion = 2
            return [WireCodec.encode(other, body: body, payload: [payload]), payload]
        case .wrongRunID:
            var other = envelope
            other.runID = RunID(high: 1, low: 2)
            return [WireCodec.encode(other, body: body, payload: [payload]), payload]
        case .crcMismatch:
            var corrupted = payload
            corrupted[10] ^= 0x40
            return [good, corrupted]
        case .payloadLengthMismatch:
            return [good, Array(payload.prefix(60))]
        case .oversizedPayload:
            // Each frame is under MAXMSGSIZE (so libzmq delivers it) but the total is over the wire limit.
            let half = Int(limits.maxPayloadBytes / 2) + 4096
            let big = patternBytes(half * 2)
            let (bigEnvelope, bigBody) = fixture.chunk(big)
            return [WireCodec.encode(bigEnvelope, body: bigBody, payload: [big]), Array(big.prefix(half)),
                    Array(big.suffix(half))]
        case .garbage:
            return [[0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00, 0xAB], payload]
        case .unknownType:
            let (leaveEnvelope, leaveBody) = fixture.leave()
            var header = WireCodec.encode(leaveEnvelope, body: leaveBody, payload: [[UInt8]]())
            precondition(header[0] == 0x08, "field 1 (type) comes first")
            header[1] = 0x7F
            return [header]
        }
    }
}

@Suite("ZMQTransport bad input (real sockets)", .serialized)
struct TransportBadInputTests {
    static let limits = WireLimits(maxHeaderBytes: 64 << 10, maxPayloadBytes: 1 << 20, maxFrames: 16)

    /// A ROUTER server on loopback tcp with small limits, a raw DEALER and a well-behaved ZMQTransport DEALER.
    func servers(_ fixture: ZMQFixture) throws -> (server: ZMQTransport, raw: ZMQSocket, good: ZMQTransport) {
        var options = fixture.options(.insecureLoopback)
        options.limits = Self.limits
        let server = try ZMQTransport(context: fixture.context, role: .router(bind: "tcp://127.0.0.1:0"),
                                      options: options)
        let raw = try ZMQSocket(context: fixture.context, type: .dealer)
        try raw.set(.routingID, Array("stranger".utf8))
        try raw.connect(server.endpoint)
        let good = try ZMQTransport(context: fixture.context, role: .dealer(connect: server.endpoint),
                                    options: fixture.options(.insecureLoopback))
        return (server, raw, good)
    }

    /// The good peer's message reaches the server (which therefore still serves).
    func expectStillServes(_ server: ZMQTransport, _ good: ZMQTransport, _ fixture: ZMQFixture) throws {
        let (envelope, body) = fixture.leave(42)
        try good.send(envelope, body: body, payload: [], to: nil, timeout: .seconds(2))
        let message = try receiveExpecting(server)
        #expect(message.message.body == body)
    }

    @Test("each malformed message is counted under its key, logged, and the server keeps serving",
          arguments: BadInput.allCases)
    func rejected(_ input: BadInput) throws {
        let fixture = try ZMQFixture()
        let (server, raw, good) = try servers(fixture)
        defer { good.close(); raw.close(); server.close() }
        let frames = input.frames(fixture, limits: Self.limits)
        try raw.send(frames.map { Frame($0) }, timeout: .seconds(2))
        let counted = try serve(server) { server.counters.snapshot.rejected[input.key] == 1 }
        #expect(counted, "counters: \(server.counters.snapshot.rejected)")
        #expect(server.counters.snapshot.rejectedTotal == 1 && server.counters.snapshot.received == 0)
        let line = fixture.lines.all.first ?? ""
        #expect(line.hasPrefix("[transport] \(server.endpoint): dropped a message")
                    && line.contains("from peer stranger"),
                "log: \(fixture.lines.all)")
        try expectStillServes(server, good, fixture)
        #expect(server.counters.snapshot.received == 1)
    }

    @Test("a frame over MAXMSGSIZE never reaches the application: libzmq drops that connection, others go on")
    func overMaxMessageSize() throws {
        let fixture = try ZMQFixture()
        let (server, raw, good) = try servers(fixture)
        defer { good.close(); raw.close(); server.close() }
        #expect(try server.option(.maxMessageSize) == 1 << 20)
        let payload = patternBytes((1 << 20) + 1)
        let (envelope, body) = fixture.chunk(Array(payload.prefix(1 << 20)))
        try raw.send([Frame(WireCodec.encode(envelope, body: body, payload: [payload])), Frame(payload)],
                     timeout: .seconds(2))
        let disconnected = try serve(server, until: { fixture.lines.contains("disconnected") }, timeout: .seconds(3))
        #expect(disconnected, "log: \(fixture.lines.all)")
        #expect(server.counters.snapshot.received == 0)
        #expect(server.counters.snapshot.disconnects == 1, "the dropped connection is counted")
        try expectStillServes(server, good, fixture)
    }
}

@Suite("ZMQTransport CURVE strangers (real sockets)", .serialized)
struct TransportCurveStrangerTests {
    /// A CURVE ROUTER admitting only `admitted`, and a good CURVE client with that key.
    func curveServer(_ fixture: ZMQFixture) throws -> (server: ZMQTransport, serverKeys: CurveKeyPair,
                                                         good: ZMQTransport) {
        let serverKeys = try CurveKeyPair.generate()
        let admitted = try CurveKeyPair.generate()
        let server = try ZMQTransport(
            context: fixture.context, role: .router(bind: "tcp://127.0.0.1:0"),
            options: fixture.options(.curveServer(keys: serverKeys, allowList: CurveAllowList([admitted.publicKey]))))
        let good = try ZMQTransport(
            context: fixture.context, role: .dealer(connect: server.endpoint),
            options: fixture.options(.curveClient(keys: admitted, serverPublicKey: serverKeys.publicKey)))
        return (server, serverKeys, good)
    }

    func expectStillServes(_ server: ZMQTransport, _ good: ZMQTransport, _ fixture: ZMQFixture) throws {
        let (envelope, body) = fixture.leave(42)
        try good.send(envelope, body: body, payload: [], to: nil, timeout: .seconds(2))
        let message = try receiveExpecting(server)
        #expect(message.message.body == body)
        #expect(server.counters.snapshot.received == 1)
    }

    @Test("a CURVE client whose key is not in the allow-list is refused by ZAP, counted as authentication")
    func unknownKey() throws {
        let fixture = try ZMQFixture()
        let (server, serverKeys, good) = try curveServer(fixture)
        let stranger = try CurveKeyPair.generate()
        let intruder = try ZMQTransport(
            context: fixture.context, role: .dealer(connect: server.endpoint),
            options: TransportOptions(expectedRunID: fixture.run,
                                      security: .curveClient(keys: stranger, serverPublicKey: serverKeys.publicKey),
                                      log: { _ in }))
        defer { intruder.close(); good.close(); server.close() }
        let (envelope, body) = fixture.leave(13)
        try intruder.send(envelope, body: body, payload: [], to: nil, timeout: .seconds(1))
        let refused = try serve(server) { server.counters.snapshot.rejected(.authentication) >= 1 }
        #expect(refused, "counters: \(server.counters.snapshot.rejected)")
        #expect(fixture.lines.contains("refused CURVE client key \(stranger.publicKey.z85)"), "\(fixture.lines.all)")
        #expect(server.counters.snapshot.received == 0, "nothing from the stranger was delivered")
        try expectStillServes(server, good, fixture)
    }

    @Test("a plaintext client against a CURVE server fails the handshake, counted as handshake")
    func plaintextClient() throws {
        let fixture = try ZMQFixture()
        let (server, _, good) = try curveServer(fixture)
        let plain = try ZMQSocket(context: fixture.context, type: .dealer)
        try plain.connect(server.endpoint)
        defer { plain.close(); good.close(); server.close() }
        let (envelope, body) = fixture.leave(13)
        try plain.send([Frame(WireCodec.encode(envelope, body: body, payload: [[UInt8]]()))], timeout: .seconds(1))
        let failed = try serve(server) { server.counters.snapshot.rejected(.handshake) >= 1 }
        #expect(failed, "counters: \(server.counters.snapshot.rejected)")
        #expect(fixture.lines.contains("handshake failed"), "\(fixture.lines.all)")
        #expect(server.counters.snapshot.received == 0)
        try expectStillServes(server, good, fixture)
    }
}
