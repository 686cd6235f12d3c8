import Comm
import Foundation
import Wire

/// ROUTER side of the two-process test: answers each chunk with its payload bytes + 1, to the sender.
func serve(_ context: ZMQContext, _ options: PeerOptions) throws {
    let bind = try options.string("bind")
    let server = try ZMQTransport(context: context, role: .router(bind: bind),
                                  options: try options.transportOptions(endpoint: bind))
    defer { server.close() }
    announce("READY \(server.endpoint)")
    try withExtendedLifetime(server) {
        for _ in 0..<(try options.int("count")) {
            guard let request = try server.receive(timeout: .seconds(20)) else {
                throw PeerFailure("no request within 20 s")
            }
            guard let peer = request.peer, case let .ringChunkHeader(header) = request.message.body else {
                throw PeerFailure("unexpected \(request.message.body)")
            }
            let answer = request.message.payload.map { frame in
                Frame(frame.bytes.map { $0 &+ 1 })
            }
            var envelope = request.message.envelope
            envelope.sequence += 1_000
            try server.send(envelope, body: .ringChunkHeader(header), payload: answer, to: peer, timeout: .seconds(10))
        }
        // Replies are queued; LINGER (500 ms) delivers them before the socket closes.
    }
    let counters = server.counters.snapshot
    announce("DONE received \(counters.received) sent \(counters.sent) rejected \(counters.rejectedTotal)")
}

/// DEALER that says one thing and then sleeps, so a test can freeze it with SIGSTOP.
func idle(_ context: ZMQContext, _ options: PeerOptions) throws {
    let connect = try options.string("connect")
    let client = try ZMQTransport(context: context, role: .dealer(connect: connect),
                                  options: try options.transportOptions(endpoint: connect))
    defer { client.close() }
    try withExtendedLifetime(client) {
        try client.send(Envelope(type: .leave, runID: options.run), body: .leave(Leave(workerID: 1, reason: "idle")),
                        payload: [], to: nil, timeout: .seconds(10))
        announce("READY sent")
        Thread.sleep(forTimeInterval: 30)
    }
}

/// A ring chunk header for `bytes` of 4-byte elements.
func benchChunk(_ run: RunID, bytes: Int, step: Int) -> (Envelope, Body) {
    let header = RingChunkHeader(phase: .reduceScatter, ringStep: 0, segment: 0, chunkIndex: UInt32(step),
                                 elementOffset: 0, elementCount: UInt64(bytes / 4), elementBytes: 4)
    return (Envelope(type: .ringChunkHeader, runID: run, step: UInt64(step)), .ringChunkHeader(header))
}

/// Benchmark receiver: times from the first message to the last.
func benchPull(_ context: ZMQContext, _ options: PeerOptions) throws {
    let bind = try options.string("bind"), size = try options.int("size"), count = try options.int("count")
    let pull = try ZMQTransport(context: context, role: .pull(bind: bind),
                                options: try options.transportOptions(endpoint: bind, typicalBytes: size))
    defer { pull.close() }
    announce("READY \(pull.endpoint)")
    var start = ContinuousClock.now
    try withExtendedLifetime(pull) {
        for index in 0..<count {
            guard let message = try pull.receive(timeout: .seconds(60)) else {
                throw PeerFailure("stalled at \(index)")
            }
            guard message.message.envelope.payloadLength == UInt64(size) else { throw PeerFailure("wrong size") }
            if index == 0 { start = .now }
        }
    }
    let elapsed = start.duration(to: .now)
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    announce("RESULT \((count - 1) * size) \(seconds)")
}

/// Benchmark sender: every payload is lent zero-copy from one buffer that outlives all releases.
func benchPush(_ context: ZMQContext, _ options: PeerOptions) throws {
    let connect = try options.string("connect"), size = try options.int("size"), count = try options.int("count")
    var transportOptions = try options.transportOptions(endpoint: connect, typicalBytes: size)
    transportOptions.linger = .seconds(30)  // close() delivers everything queued
    let push = try ZMQTransport(context: context, role: .push(connect: connect), options: transportOptions)
    defer { push.close() }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 64)
    defer { buffer.deallocate() }
    for index in 0..<size { buffer[index] = UInt8(truncatingIfNeeded: index &* 31) }
    let released = ReleaseCount()
    try withExtendedLifetime(push) {
        for step in 0..<count {
            let (envelope, body) = benchChunk(options.run, bytes: size, step: step)
            try push.send(envelope, body: body, payload: [Frame(lending: UnsafeRawBufferPointer(buffer),
                                                                onRelease: released.increment)],
                          to: nil, timeout: .seconds(60))
        }
    }
    push.close()  // LINGER delivers what is queued; then every zero-copy frame is released
    guard released.wait(for: count, timeout: .seconds(60)) else { throw PeerFailure("payload buffers not released") }
}

/// Counts zero-copy releases (on libzmq's I/O thread).
final class ReleaseCount: Sendable {
    private let condition = NSCondition()
    nonisolated(unsafe) private var count = 0

    var increment: @Sendable () -> Void {
        { [self] in
            condition.lock()
            count += 1
            condition.broadcast()
            condition.unlock()
        }
    }

    func wait(for expected: Int, timeout: Duration) -> Bool {
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds))
        condition.lock()
        defer { condition.unlock() }
        while count < expected {
            guard condition.wait(until: deadline) else { return count >= expected }
        }
        return true
    }
}

/// CRC32C throughput over one buffer (best of 5 passes of at least 0.1 s).
func crcSpeed(_ options: PeerOptions) throws {
    let size = try options.int("size")
    let data = [UInt8](repeating: 0x5A, count: size)
    let target = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    defer { target.deallocate() }
    target.initializeMemory(as: UInt8.self, repeating: 0)
    var sink: UInt32 = 0
    // What a sender into a shared-memory slot can do with a payload: checksum it, copy it, or both, in two
    // passes over 16 KiB blocks (the slot copy before run 14) or in one (`crc32cCopying`).
    let ways: [(String, (UnsafeRawBufferPointer) -> UInt32)] = [
        ("CRC32C", { crc32c($0) }),
        ("copy", { source in target.copyMemory(from: source); return 0 }),
        ("copy, then CRC32C by 16 KiB blocks", { source in
            var crc: UInt32 = 0
            for start in stride(from: 0, to: source.count, by: 16 << 10) {
                let end = min(start + (16 << 10), source.count)
                let block = UnsafeMutableRawBufferPointer(rebasing: target[start..<end])
                block.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[start..<end]))
                crc = crc32c(UnsafeRawBufferPointer(block), seed: crc)
            }
            return crc
        }),
        ("copy with CRC32C, one pass", { crc32cCopying($0, to: target.baseAddress!) ?? 0 }),
        ("copy with CRC32C, one pass, streaming stores", {
            crc32cCopying($0, to: target.baseAddress!, streaming: true) ?? 0
        }),
    ]
    for (name, way) in ways {
        if name.hasPrefix("copy with"), crc32cCopying(UnsafeRawBufferPointer(start: nil, count: 0),
                                                      to: target.baseAddress!) == nil {
            announce("\(name): not on this CPU (no AVX-512 VPCLMULQDQ)")
            continue
        }
        var best = 0.0
        for _ in 0..<5 {
            var passes = 0
            let start = ContinuousClock.now
            while start.duration(to: .now) < .milliseconds(100) {
                sink &+= data.withUnsafeBytes { way($0) }
                passes += 1
            }
            let elapsed = start.duration(to: .now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            best = max(best, Double(passes * size) / seconds / 1e9)
        }
        announce("\(name) \(String(format: "%.2f", best)) GB/s (checksum \(sink & 1))")
    }
}
