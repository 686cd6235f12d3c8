import Comm
import Foundation
import Synchronization
import Testing
import Wire

// MARK: - Shared fixtures for the real-socket suites

/// A context, a private directory for ipc endpoints and a run id; terminates and removes both at the end.
final class ZMQFixture {
    let context: ZMQContext
    let directory: String
    let run = RunID(high: 0xC0FFEE, low: 0x5EED)
    let lines = LogLines()

    init() throws {
        context = try ZMQContext()
        directory = NSTemporaryDirectory() + "nmae-comm-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    deinit {
        context.terminate()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// An ipc endpoint inside the private directory.
    func ipc(_ name: String) -> String { "ipc://\(directory)/\(name)" }

    /// Options for this run, logging into `lines`.
    func options(_ security: TransportSecurity = .none) -> TransportOptions {
        TransportOptions(expectedRunID: run, security: security, log: lines.append)
    }

    /// A ring chunk carrying `payload` bytes (4-byte elements).
    func chunk(_ payload: [UInt8], step: UInt64 = 1) -> (Envelope, Body) {
        let header = RingChunkHeader(phase: .reduceScatter, ringStep: 0, segment: 0, chunkIndex: 0,
                                     elementOffset: 0, elementCount: UInt64(payload.count / 4), elementBytes: 4)
        return (Envelope(type: .ringChunkHeader, runID: run, step: step), .ringChunkHeader(header))
    }

    /// A small valid message without payload.
    func leave(_ worker: UInt32 = 7) -> (Envelope, Body) {
        (Envelope(type: .leave, runID: run), .leave(Leave(workerID: worker, reason: "test")))
    }
}

/// Log lines collected from a transport's `log` callback (any thread).
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])

    var all: [String] { lines.withLock { $0 } }

    var append: @Sendable (String) -> Void { { line in self.lines.withLock { $0.append(line) } } }

    func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }
}

/// Bytes 0, 1, 2, ... (mod 251) of the given length.
func patternBytes(_ count: Int, seed: Int = 0) -> [UInt8] {
    (0..<count).map { UInt8(($0 + seed) % 251) }
}

/// Receives until a message arrives or `timeout` passes; fails the test on timeout.
func receiveExpecting(_ transport: ZMQTransport, timeout: Duration = .seconds(5),
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> ReceivedMessage {
    try #require(try transport.receive(timeout: timeout), "no message within \(timeout)",
                 sourceLocation: sourceLocation)
}

/// Calls `receive` in short slices until `condition` holds or `timeout` passes (events such as refused
/// handshakes are processed inside `receive`). Returns whether the condition held.
@discardableResult
func serve(_ transport: ZMQTransport, until condition: () -> Bool, timeout: Duration = .seconds(5)) throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { return false }
        _ = try transport.receive(timeout: .milliseconds(20))
    }
    return true
}
