import Foundation

// MARK: - One real `neighbormae` process of a test cluster

/// A started `neighbormae` subcommand whose output goes to a log file (never a pipe that could fill up).
final class ClusterProcess: @unchecked Sendable {
    let name: String
    let process = Process()
    let logURL: URL
    let started = ContinuousClock.now

    /// The neighbormae binary sits next to the test binary (same build directory).
    static var binary: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("neighbormae")
    }

    /// Peer tools built beside the test binary (`CommPeer`, `LatencyProxy`).
    static func tool(_ name: String) -> URL { binary.deletingLastPathComponent().appendingPathComponent(name) }

    /// Starts `executable` (default `neighbormae`) with `arguments`, inside network namespace `namespace`
    /// when given (`ip netns exec` execs the program, so the pid is the program's own).
    init(_ name: String, arguments: [String], logURL: URL, namespace: String? = nil,
         executable: URL = ClusterProcess.binary) throws {
        self.name = name
        self.logURL = logURL
        if !FileManager.default.fileExists(atPath: logURL.path) {
            _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: logURL)
        handle.seekToEndOfFile()
        if let namespace {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["ip", "netns", "exec", namespace, executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    func send(_ signal: Int32) {
        if process.isRunning { kill(pid, signal) }
    }

    /// Waits for the exit; after `limit` kills the process and returns nil.
    func waitForExit(limit: Duration) -> Int32? {
        let deadline = ContinuousClock.now + limit
        while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            kill(pid, SIGCONT)
            kill(pid, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
    }
}
