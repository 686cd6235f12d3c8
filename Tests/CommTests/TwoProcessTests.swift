import Comm
import Foundation
import Testing
import Wire

/// The `CommPeer` executable built next to the test binary (`swift build --build-tests` builds it).
func commPeerExecutable() throws -> URL {
    let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var directory = testBinary.deletingLastPathComponent()
    // The test bundle may be a directory (NeighborMAEPackageTests.xctest/...); walk up to the build dir.
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("CommPeer")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    Issue.record("CommPeer not found next to \(testBinary.path): build it with `swift build -c release --build-tests`")
    throw CancellationError()
}

/// A running `CommPeer serve` child whose first stdout line was `READY <endpoint>`.
struct PeerProcess {
    let process: Process
    let endpoint: String
    let output: Pipe

    init(_ arguments: [String]) throws {
        process = Process()
        process.executableURL = try commPeerExecutable()
        process.arguments = arguments
        output = Pipe()
        process.standardOutput = output
        try process.run()
        var line = [UInt8]()
        let handle = output.fileHandleForReading
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = handle.readData(ofLength: 1)
            guard !chunk.isEmpty else { break }
            line += chunk
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("READY ") else {
            process.terminate()
            Issue.record("CommPeer did not start: \(text.isEmpty ? "no output" : text)")
            throw CancellationError()
        }
        endpoint = String(text.dropFirst("READY ".count))
    }

    /// Waits up to `timeout` for exit; kills the child if it is still running. Returns the exit status.
    func waitForExit(timeout: Duration = .seconds(20)) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        guard !process.isRunning else {
            process.terminate()
            return nil
        }
        return process.terminationStatus
    }

    /// The rest of the child's stdout (after it exited).
    var remainingOutput: String {
        String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
}

@Suite("Two processes (real sockets)", .serialized)
struct TwoProcessTests {
    static let sizes = [4000, 64 << 10, 1 << 20]

    /// Sends one chunk per size to the child and checks each answer (payload bytes + 1, same step).
    func exchange(_ client: ZMQTransport, _ fixture: ZMQFixture) throws {
        for (index, size) in Self.sizes.enumerated() {
            let payload = patternBytes(size, seed: index)
            let (envelope, body) = fixture.chunk(payload, step: UInt64(10 + index))
            try client.send(envelope, body: body, payload: [Frame(payload)], to: nil, timeout: .seconds(10))
            let answer = try receiveExpecting(client, timeout: .seconds(20))
            #expect(answer.message.envelope.step == UInt64(10 + index))
            #expect(answer.message.body == body)
            #expect(answer.message.payload.map(\.bytes) == [payload.map { $0 &+ 1 }], "size \(size)")
        }
        #expect(client.counters.snapshot.received == 3 && client.counters.snapshot.rejectedTotal == 0)
    }

    func runArguments(_ fixture: ZMQFixture) -> [String] {
        ["--run-high", String(fixture.run.high), "--run-low", String(fixture.run.low),
         "--count", String(Self.sizes.count)]
    }

    @Test("a child process and this one exchange chunks both ways over CURVE tcp with key files")
    func curveTCP() throws {
        let fixture = try ZMQFixture()
        let keys = fixture.directory + "/keys"
        let serverFiles = try CurveKeyFiles.write(try CurveKeyPair.generate(), directory: keys, name: "server")
        let clientFiles = try CurveKeyFiles.write(try CurveKeyPair.generate(), directory: keys, name: "client")
        let child = try PeerProcess(["serve", "--bind", "tcp://127.0.0.1:0", "--keys", serverFiles.secretFile,
                                     "--allow", clientFiles.publicFile] + runArguments(fixture))
        let security = TransportSecurity.curveClient(
            keys: try CurveKeyFiles.loadKeyPair(clientFiles.secretFile),
            serverPublicKey: try CurveKeyFiles.loadPublicKey(serverFiles.publicFile))
        let client = try ZMQTransport(context: fixture.context, role: .dealer(connect: child.endpoint),
                                      options: fixture.options(security))
        defer { client.close() }
        try exchange(client, fixture)
        #expect(child.waitForExit() == 0)
        #expect(child.remainingOutput.contains("DONE received 3 sent 3 rejected 0"))
    }

    @Test("a child process and this one exchange chunks both ways over ipc in a 0700 directory")
    func ipc() throws {
        let fixture = try ZMQFixture()
        let child = try PeerProcess(["serve", "--bind", fixture.ipc("serve.sock")] + runArguments(fixture))
        #expect(child.endpoint == fixture.ipc("serve.sock"))
        let client = try ZMQTransport(context: fixture.context, role: .dealer(connect: child.endpoint),
                                      options: fixture.options(.ipc))
        defer { client.close() }
        try exchange(client, fixture)
        #expect(child.waitForExit() == 0)
        #expect(child.remainingOutput.contains("DONE received 3 sent 3 rejected 0"))
    }
}

@Suite("Heartbeats (real processes)", .serialized)
struct HeartbeatTests {
    @Test("a frozen peer (SIGSTOP) is dropped by ZMTP heartbeats, and only with heartbeats on",
          arguments: [true, false])
    func frozenPeer(_ heartbeats: Bool) throws {
        let fixture = try ZMQFixture()
        var options = fixture.options(.ipc)
        options.heartbeat = heartbeats ? (.milliseconds(200), .milliseconds(600)) : nil
        let server = try ZMQTransport(context: fixture.context, role: .router(bind: fixture.ipc("hb.sock")),
                                      options: options)
        defer { server.close() }
        let child = try PeerProcess(["idle", "--connect", server.endpoint, "--run-high", String(fixture.run.high),
                                     "--run-low", String(fixture.run.low)])
        defer {
            kill(child.process.processIdentifier, SIGKILL)
            _ = child.waitForExit(timeout: .seconds(5))
        }
        let hello = try receiveExpecting(server)
        #expect(hello.message.envelope.type == .leave)
        kill(child.process.processIdentifier, SIGSTOP)
        let start = ContinuousClock.now
        let dropped = try serve(server, until: { fixture.lines.contains("disconnected") },
                                timeout: heartbeats ? .seconds(5) : .milliseconds(1500))
        #expect(dropped == heartbeats, "log: \(fixture.lines.all)")
        if heartbeats { #expect(ContinuousClock.now - start < .seconds(3)) }
        kill(child.process.processIdentifier, SIGCONT)
    }
}
