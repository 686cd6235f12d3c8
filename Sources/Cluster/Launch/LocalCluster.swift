import Foundation
import Training

// MARK: - The embedded default: a coordinator and N workers as processes on this machine

/// Starts `neighbormae coordinator` and `workers` × `neighbormae worker` (this same executable) with ipc
/// endpoints in `<run>/sockets` (mode 0700), forwards the coordinator's progress to standard output (and
/// `<run>/logs/coordinator.log`), and sends each worker's output to `<run>/logs/worker-N.log`.
///
/// SIGINT or SIGTERM is passed to the coordinator, which aborts the step in flight, writes a final
/// checkpoint and lets the workers go; a second signal kills everything.
public final class LocalCluster {
    public let runDirectory: URL
    public let config: TrainingConfig
    public let workers: Int
    public let resume: Bool
    /// Where the coordinator serves Prometheus metrics (nil: nowhere).
    public var metricsBind: String? = "127.0.0.1:9464"
    private var processes: [(name: String, process: Process)] = []

    public init(runDirectory: URL, config: TrainingConfig, workers: Int, resume: Bool) {
        self.runDirectory = runDirectory.standardizedFileURL
        self.config = config
        self.workers = workers
        self.resume = resume
    }

    /// The control endpoint of a run directory: `ipc://<run>/sockets/control`.
    public static func controlEndpoint(_ run: URL) throws -> String {
        try socketEndpoint(run, name: "control")
    }

    static func socketEndpoint(_ run: URL, name: String) throws -> String {
        let folder = run.standardizedFileURL.appendingPathComponent("sockets")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder.path)
        let path = folder.appendingPathComponent(name).path
        guard path.utf8.count < 100 else {   // sun_path holds 108 bytes
            throw CoordinatorSetupError("the ipc socket path \(path) is too long for the kernel (limit ~100 bytes); "
                                        + "hint: use a shorter --run-dir")
        }
        return "ipc://" + path
    }

    /// Runs the cluster until the coordinator exits; returns its exit code.
    public func run() throws -> Int32 {
        let checkpoints = CheckpointStore(directory: runDirectory.appendingPathComponent("checkpoints"))
        if !resume && !checkpoints.checkpointDirectories().isEmpty {
            throw CoordinatorSetupError.occupied(runDirectory)
        }
        let logs = runDirectory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let configFile = runDirectory.appendingPathComponent("config.yaml")
        try Data(config.yaml().utf8).write(to: configFile)
        let control = try Self.controlEndpoint(runDirectory)
        let signals = TerminationSignals()
        defer { stopAll() }

        var coordinatorArguments = ["coordinator", "--run-dir", runDirectory.path, "--config", configFile.path,
                                    "--bind", control, "--start-workers", String(workers), "--managed"]
        if resume { coordinatorArguments.append("--resume") }
        if let metricsBind { coordinatorArguments += ["--metrics", metricsBind] }
        let coordinator = try start("coordinator", coordinatorArguments,
                                    output: .tee(logs.appendingPathComponent("coordinator.log")))
        for index in 1...workers {
            let arguments = ["worker", "--coordinator", control,
                             "--data-bind", try Self.socketEndpoint(runDirectory, name: "worker-\(index)"),
                             "--threads", String(config.threads), "--name", "local-\(index)", "--managed", "--sources"]
                + config.sources
            let log = logs.appendingPathComponent("worker-\(index).log")
            _ = try start("worker-\(index)", arguments, output: .file(log))
        }
        LineLog.standardOutput("[train] coordinator and \(workers) worker(s) started; logs in \(logs.path)")
        var signalsSeen = 0
        while coordinator.isRunning {
            if signals.count > signalsSeen {
                signalsSeen = signals.count
                if signalsSeen == 1 {
                    LineLog.standardOutput("[train] stopping: the coordinator writes a final checkpoint")
                    kill(coordinator.processIdentifier, SIGTERM)   // the workers stay to upload it, then leave
                } else {
                    LineLog.standardOutput("[train] second signal: killing every process")
                    for (_, process) in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
                }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        coordinator.waitUntilExit()
        return coordinator.terminationReason == .uncaughtSignal ? 128 + coordinator.terminationStatus
            : coordinator.terminationStatus
    }

    enum Output {
        case tee(URL)
        case file(URL)
    }

    private func start(_ name: String, _ arguments: [String], output: Output) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        switch output {
        case let .file(url):
            if !FileManager.default.fileExists(atPath: url.path) {
                _ = FileManager.default.createFile(atPath: url.path, contents: nil)
            }
            let handle = try FileHandle(forWritingTo: url)
            handle.seekToEndOfFile()
            process.standardOutput = handle
            process.standardError = handle
        case let .tee(url):
            if !FileManager.default.fileExists(atPath: url.path) {
                _ = FileManager.default.createFile(atPath: url.path, contents: nil)
            }
            let file = try FileHandle(forWritingTo: url)
            file.seekToEndOfFile()
            let pipe = Pipe()
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                guard !data.isEmpty else { return }
                FileHandle.standardOutput.write(data)
                file.write(data)
            }
            process.standardOutput = pipe
            process.standardError = pipe
        }
        try process.run()
        processes.append((name, process))
        return process
    }

    /// Workers leave on the coordinator's Leave; whatever still runs after a grace period is killed.
    private func stopAll() {
        let deadline = Date(timeIntervalSinceNow: 15)
        while processes.contains(where: { $0.process.isRunning }) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        for (name, process) in processes where process.isRunning {
            LineLog.standardOutput("[train] \(name) did not exit; killing it")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        for (name, process) in processes where name != "coordinator" && process.terminationStatus != 0 {
            LineLog.standardOutput("[train] \(name) exited with status \(process.terminationStatus); "
                                   + "see logs/\(name).log")
        }
    }
}
