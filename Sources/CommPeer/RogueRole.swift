import Comm
import Foundation
import Wire

// MARK: - A hostile client (reliability scenario 5)

/// `CommPeer rogue --connect EP --socket dealer|push --mode stranger|plaintext|garbage --seconds S
///                 [--keys F.key --server-key F.pub]`
///
/// Talks to a coordinator (`dealer`) or a worker's ring receiver (`push`) for S seconds, then prints
/// `ROGUE <mode> sent <n>`:
/// - `stranger`: CURVE with a key pair the server does not admit; sends well-formed Joins (refused by ZAP).
/// - `plaintext`: no CURVE at all against a CURVE server (the handshake fails).
/// - `garbage`: CURVE with the given (admitted) keys, i.e. a compromised insider; sends random frames and
///   envelopes with bad CRCs, wrong run ids and truncated bodies (each rejected by the decoder).
/// A raw `ZMQSocket` is used on purpose: `ZMQTransport` would refuse to send plaintext over tcp.
func rogue(_ context: ZMQContext, _ options: PeerOptions) throws {
    let connect = try options.string("connect"), mode = try options.string("mode")
    let seconds = try options.int("seconds", default: 5)
    let socket = try ZMQSocket(context: context, type: try options.string("socket") == "push" ? .push : .dealer)
    defer { socket.close() }
    try socket.set(.linger, 0)
    switch mode {
    case "stranger":
        let keys = try CurveKeyPair.generate()
        try curveClient(socket, keys: keys, server: try CurveKeyFiles.loadPublicKey(try options.string("server-key")))
    case "garbage":
        try curveClient(socket, keys: try CurveKeyFiles.loadKeyPair(try options.string("keys")),
                        server: try CurveKeyFiles.loadPublicKey(try options.string("server-key")))
    case "plaintext":
        break
    default:
        throw PeerFailure("--mode must be stranger, plaintext or garbage")
    }
    try socket.connect(connect)
    var generator = SystemRandomNumberGenerator()
    var sent = 0
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        do {
            try socket.send(rogueMessage(mode: mode, index: sent, using: &generator), timeout: .milliseconds(100))
            sent += 1
        } catch {
            // The server refuses or drops us; keep trying until the time is up.
        }
        Thread.sleep(forTimeInterval: 0.02)
    }
    announce("ROGUE \(mode) sent \(sent)")
}

private func curveClient(_ socket: ZMQSocket, keys: CurveKeyPair, server: CurvePublicKey) throws {
    try socket.set(.curveServerKey, server.bytes)
    try socket.set(.curvePublicKey, keys.publicKey.bytes)
    try socket.set(.curveSecretKey, keys.secretKey.bytes)
}

/// Garbage of several kinds, cycling; a stranger sends a valid Join (it never gets past the handshake).
private func rogueMessage(mode: String, index: Int, using generator: inout SystemRandomNumberGenerator) -> [Frame] {
    let digest = [UInt8](repeating: 1, count: 32)
    let join = Body.join(Join(workerName: "rogue", buildFingerprint: "rogue", datasetFingerprint: digest, threads: 1,
                              samplesPerSecond: 1, dataEndpoint: "tcp://10.231.0.99:6000"))
    let valid = WireCodec.encodeHeader(Envelope(type: .join, runID: .zero), body: join)
    guard mode == "garbage" else { return [Frame(valid)] }
    switch index % 4 {
    case 0:   // random bytes
        return [Frame((0..<64).map { _ in UInt8.random(in: 0...255, using: &generator) })]
    case 1:   // a truncated header
        return [Frame(Array(valid.prefix(valid.count / 2)))]
    case 2:   // a payload that does not match the envelope's CRC
        let header = WireCodec.encode(Envelope(type: .join, runID: .zero), body: join, payload: [[UInt8]([1, 2, 3])])
        return [Frame(header), Frame([9, 9, 9])]
    default:  // a well-formed message of another run
        return [Frame(WireCodec.encodeHeader(Envelope(type: .heartbeat, runID: RunID(high: 66, low: 6)),
                                             body: .heartbeat(Heartbeat(workerID: 1, committedStep: 0, unixMs: 0))))]
    }
}
