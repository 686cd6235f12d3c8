import Foundation
import Testing

// MARK: - Real processes: N RingPeer ranks over ZeroMQ PUSH/PULL (ipc and tcp loopback) and shared memory

/// One started `RingPeer run` process and what it printed.
final class RingPeerProcess: @unchecked Sendable {
    let rank: Int
    let process = Process()
    private let output = Pipe()
    private let errors = Pipe()
    let started = ContinuousClock.now
    private(set) var finished: ContinuousClock.Instant?
    private(set) var stdout = ""
    private(set) var stderr = ""

    /// The RingPeer binary sits next to the test binary (same build directory).
    static var binary: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("RingPeer")
    }

    init(rank: Int, arguments: [String]) throws {
        self.rank = rank
        process.executableURL = Self.binary
        process.arguments = ["run", "--rank", "\(rank)"] + arguments
        process.standardOutput = output
        process.standardError = errors
        try process.run()
    }

    /// Waits for the exit (SIGKILLs the process after `limit`); returns the exit status.
    func wait(limit: Duration) -> Int32 {
        let deadline = started + limit
        while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        finished = finished ?? ContinuousClock.now
        stdout = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
    }
}

/// Endpoints for `size` ranks: ipc sockets in a private 0700 directory, shared-memory mailboxes, or tcp on
/// free loopback ports.
func ringEndpoints(_ kind: String, size: Int) throws -> (endpoints: [String], cleanup: () -> Void) {
    if kind == "shm" {   // a rank killed by a test leaves its mailbox's name behind
        let names = (0..<size).map { "nmae-ring-\(UUID().uuidString.prefix(8))-rank\($0)" }
        let cleanup = { names.forEach { try? FileManager.default.removeItem(atPath: "/dev/shm/\($0)") } }
        return (names.map { "shm://\($0)" }, cleanup)
    }
    if kind == "ipc" {
        let directory = NSTemporaryDirectory() + "nmae-ring-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        return ((0..<size).map { "ipc://\(directory)/rank\($0)" },
                { try? FileManager.default.removeItem(atPath: directory) })
    }
    return ((0..<size).map { _ in "tcp://127.0.0.1:\(freeLoopbackPort())" }, {})
}

/// A currently unused loopback TCP port (bind port 0, read it back, close).
func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

@Suite("RingProcesses", .serialized)
struct RingProcessTests {
    static func launch(size: Int, kind: String, count: Int, mode: String, iterations: Int, timeoutMs: Int = 5000,
                       extra: (Int) -> [String] = { _ in [] }) throws -> ([RingPeerProcess], () -> Void) {
        let (endpoints, cleanup) = try ringEndpoints(kind, size: size)
        let common = ["--size", "\(size)", "--endpoints", endpoints.joined(separator: ","), "--count", "\(count)",
                      "--mode", mode, "--iterations", "\(iterations)", "--chunk-bytes", "\(256 << 10)",
                      "--timeout-ms", "\(timeoutMs)"] + (kind == "tcp" ? ["--insecure-loopback"] : [])
        let peers = try (0..<size).map { r in try RingPeerProcess(rank: r, arguments: common + extra(r)) }
        return (peers, cleanup)
    }

    @Test("2, 3 and 4 processes produce the exact known sum in float and both exact modes over ipc, tcp and shm",
          arguments: ["ipc", "tcp", "shm"])
    func exactSums(kind: String) throws {
        for (size, mode) in [(3, "exact"), (4, "float"), (2, "exact"), (3, "exact-accumulator")] {
            let (peers, cleanup) = try Self.launch(size: size, kind: kind, count: 1_000_003, mode: mode, iterations: 3)
            defer { cleanup() }
            for peer in peers {
                let status = peer.wait(limit: .seconds(60))
                #expect(status == 0,
                        "\(kind) size \(size) \(mode) rank \(peer.rank): exit \(status)\n\(peer.stdout)\(peer.stderr)")
                #expect(peer.stdout.contains("RESULT rank=\(peer.rank) size=\(size) mode=\(mode)"))
            }
        }
    }

    @Test("a rank SIGKILLed mid-collective: every survivor exits with CollectiveFailed within deadline + margin",
          arguments: ["ipc", "tcp", "shm"])
    func killedRank(kind: String) throws {
        let size = 4, timeoutMs = 1000
        let (peers, cleanup) = try Self.launch(size: size, kind: kind, count: 4_000_000, mode: "exact",
                                               iterations: 50, timeoutMs: timeoutMs) { r in
            r == 2 ? ["--die-after-chunks", "6"] : []
        }
        defer { cleanup() }
        let statuses = peers.map { $0.wait(limit: .seconds(30)) }
        #expect(statuses[2] == -SIGKILL, "rank 2 killed itself: \(statuses[2])")
        let killedAt = peers[2].finished!
        for peer in peers where peer.rank != 2 {
            #expect(statuses[peer.rank] == 3,
                    "rank \(peer.rank) exit \(statuses[peer.rank]):\n\(peer.stdout)\(peer.stderr)")
            #expect(peer.stdout.contains("COLLECTIVE_FAILED rank=\(peer.rank)"))
            let after = peer.finished! - killedAt
            #expect(after < .milliseconds(timeoutMs) + .milliseconds(1500),
                    "rank \(peer.rank) exited \(after) after the kill (deadline \(timeoutMs) ms)")
        }
        if kind == "shm" {   // a mailbox sees its peer process gone: both neighbours of the dead rank fail early
            let named = [peers[1], peers[3]].filter { $0.stdout.contains("reason=peerGone") }
            #expect(!named.isEmpty, "rank 1 or 3 reports the peer gone:\n\(peers[1].stdout)\(peers[3].stdout)")
            for peer in named {
                #expect(peer.finished! - killedAt < .milliseconds(timeoutMs), "rank \(peer.rank) after the kill")
            }
        }
    }
}
