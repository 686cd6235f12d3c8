import Foundation
import Testing
import Training
import TrainingTestSupport

// MARK: - A run directory, a config and the processes of one acceptance test

/// A coordinator and workers as real processes over ipc sockets in a private 0700 directory, on a tiny
/// model (16-pixel tiles, 2+1 blocks of width 32) and a synthetic scene, so a step takes tens of ms.
final class TestCluster {
    let root: URL
    let runDirectory: URL
    let configFile: URL
    let config: TrainingConfig
    let control: String
    private(set) var processes: [ClusterProcess] = []

    /// Deadlines small enough that failures are noticed in about a second.
    static let heartbeatTimeoutMs = 1500
    static let ringTimeoutMs = 2000
    static let coordinatorTimeoutMs = 2500

    /// The workers' ring receivers: "ipc" sockets, or "shm" mailboxes (NMAE_TEST_DATA_PLANE overrides).
    let dataPlane: String
    /// Mailbox names of the workers started (a SIGKILLed worker leaves its name in /dev/shm).
    private var mailboxes: [String] = []

    init(steps: Int = 16, checkpointEvery: Int = 4, pictureEvery: Int = 0, dataPlane: String = "ipc") throws {
        self.dataPlane = ProcessInfo.processInfo.environment["NMAE_TEST_DATA_PLANE"] ?? dataPlane
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("nmae-cluster-\(UUID().uuidString.prefix(8))")
        runDirectory = root.appendingPathComponent("run")
        let sockets = root.appendingPathComponent("s")
        try FileManager.default.createDirectory(at: sockets, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true)
        var config = try Self.config(scene: Self.scene(), steps: steps, checkpointEvery: checkpointEvery)
        config.pictureEvery = pictureEvery
        self.config = config
        configFile = root.appendingPathComponent("run.yaml")
        try Data(config.yaml().utf8).write(to: configFile)
        control = "ipc://\(sockets.path)/control"
    }

    deinit {
        for process in processes where process.isRunning {
            kill(process.pid, SIGCONT)
            kill(process.pid, SIGKILL)
            process.process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: root)
        for name in mailboxes { try? FileManager.default.removeItem(atPath: "/dev/shm/\(name)") }
    }

    static func config(scene: String, steps: Int, checkpointEvery: Int) -> TrainingConfig {
        var config = TinyRun.config(scene: scene, steps: steps)
        config.threads = 1
        config.pictureEvery = 0
        config.checkpointEvery = checkpointEvery
        return config
    }

    // MARK: - Processes

    @discardableResult
    func startCoordinator(resume: Bool = false, startWorkers: Int = 1, extra: [String] = []) throws -> ClusterProcess {
        var arguments = ["coordinator", "--config", configFile.path, "--run-dir", runDirectory.path, "--bind", control,
                         "--start-workers", String(startWorkers),
                         "--heartbeat-timeout-ms", String(Self.heartbeatTimeoutMs)]
        if resume { arguments.append("--resume") }
        return try start("coordinator", arguments + extra)
    }

    @discardableResult
    func startWorker(_ name: String, extra: [String] = []) throws -> ClusterProcess {
        let mailbox = "nmae-test-\(UUID().uuidString.prefix(8))-\(name)"
        if dataPlane == "shm" { mailboxes.append(mailbox) }
        let data = dataPlane == "shm" ? "shm://\(mailbox)"
            : "ipc://\(root.appendingPathComponent("s").path)/\(name)-\(UUID().uuidString.prefix(4))"
        let arguments = ["worker", "--coordinator", control, "--data-bind", data, "--sources"] + config.sources
            + ["--threads", "1", "--name", name, "--ring-timeout-ms", String(Self.ringTimeoutMs),
               "--coordinator-timeout-ms", String(Self.coordinatorTimeoutMs)]
        return try start(name, arguments + extra)
    }

    @discardableResult
    func start(_ name: String, _ arguments: [String], namespace: String? = nil,
               executable: URL = ClusterProcess.binary) throws -> ClusterProcess {
        let process = try ClusterProcess(name, arguments: arguments, logURL: root.appendingPathComponent("\(name).log"),
                                         namespace: namespace, executable: executable)
        processes.append(process)
        return process
    }

    /// Every log, for a failing expectation's message.
    var logs: String {
        processes.map { "----- \($0.name) -----\n\($0.log)" }.joined(separator: "\n")
    }

    // MARK: - Observations

    /// Polls `condition` until it holds; fails the test (with every log) after `timeout`.
    func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ condition: () -> Bool) throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting until \(what)\n\(logs)")
                throw ClusterTestFailure.timeout(what)
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    var metrics: [[String: Any]] {
        let url = runDirectory.appendingPathComponent("metrics.jsonl")
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return (try? MetricsLog.read(url)) ?? []
    }

    var committedSteps: Int { metrics.count }

    /// The id the coordinator gave the worker called `name` (its latest registration), from its log.
    func workerID(_ name: String, coordinator: ClusterProcess) -> Int? {
        coordinator.log.matches(of: /worker (\d+) \(([^)]+)\) registered/).last { $0.2 == name }.flatMap { Int($0.1) }
    }

    func checkpointExists(step: Int) -> Bool {
        let manifest = runDirectory
            .appendingPathComponent("checkpoints/\(CheckpointStore.name(step: step))/manifest.json")
        return FileManager.default.fileExists(atPath: manifest.path)
    }

    /// State SHA-256 recorded in the manifest of the checkpoint of `step` (after verifying every file).
    func stateHash(step: Int) throws -> String {
        let url = runDirectory.appendingPathComponent("checkpoints/\(CheckpointStore.name(step: step))")
        return try CheckpointStore.verify(url).stateSHA256
    }

    // MARK: - The reference

    /// The synthetic scene every test reads (written once per test process).
    static func scene() throws -> String {
        try sceneCache.get()
    }

    private static let sceneCache = Result { () throws -> String in
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nmae-scene-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return try SyntheticScene.write(in: folder)
    }

    /// The state hash after `steps` steps of the single-process trainer: the result every distributed run
    /// of the same config must reproduce bit for bit (SYSTEM.md §4).
    /// (Checkpoints do not change the state, so the reference writes only the final one.)
    static func referenceHash(steps: Int) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nmae-ref-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = try Trainer(config: config(scene: try scene(), steps: steps, checkpointEvery: 0),
                                  runDirectory: folder, log: { _ in })
        try trainer.run()
        return trainer.state.sha256()
    }
}

/// Reference states by step count (the single-process trainer, computed once per test process).
enum References {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [Int: String] = [:]

    static func hash(steps: Int) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let known = cache[steps] { return known }
        let value = try TestCluster.referenceHash(steps: steps)
        cache[steps] = value
        return value
    }
}

enum ClusterTestFailure: Error {
    case timeout(String)
}
