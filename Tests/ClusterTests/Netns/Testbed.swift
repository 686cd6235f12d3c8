import Foundation

// MARK: - cluster/netns/testbed from Swift

/// The network-namespace test bed (`cluster/netns/testbed`): hosts `nm-coord` (10.231.0.1) and `nm-w1`...
/// (10.231.0.11...) on a bridge. Needs root; where namespaces cannot be made the suites using it are
/// disabled with the testbed's reason (shown as skipped in the test output, never as passed).
enum Testbed {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("cluster/netns/testbed")

    /// Whether namespaces can be made here, and why not (the check runs once per test process).
    static let availability: (ok: Bool, reason: String) = {
        let (status, output) = run(["check"])
        return (status == 0, status == 0 ? "" : output.trimmingCharacters(in: .whitespacesAndNewlines))
    }()

    static var available: Bool { availability.ok }

    static func address(ofWorkerHost index: Int) -> String { "10.231.0.\(10 + index)" }
    static let coordinatorAddress = "10.231.0.1"
    static func namespace(ofWorkerHost index: Int) -> String { "nm-w\(index)" }
    static let coordinatorNamespace = "nm-coord"

    /// Runs the testbed script; returns its exit status and combined output.
    @discardableResult
    static func run(_ arguments: [String]) -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["bash", script.path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (127, "\(error)") }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    /// Brings the network up with `workerHosts` worker hosts (after tearing down any leftovers).
    static func up(workerHosts: Int) throws {
        let (status, output) = run(["up", String(workerHosts)])
        guard status == 0 else { throw TestbedFailure("testbed up failed (\(status)): \(output)") }
    }

    static func down() { run(["down"]) }
}

struct TestbedFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
