import ArgumentParser
import Cluster
import Comm
import Foundation
import Training

/// `neighbormae coordinator`: one run's coordinator (membership, step transactions, checkpoints, metrics).
struct CoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator", abstract: "Coordinate a distributed run: workers connect to --bind.")

    @OptionGroup var training: TrainingOptions

    @Option(name: .customLong("run-dir"), help: "Run directory (created): config, checkpoints, metrics, logs.")
    var runDirectory = "runs/default"
    @Option(help: "Control endpoint, e.g. tcp://0.0.0.0:5555 or ipc:///path/control (default: ipc in the run dir).")
    var bind: String?
    @Flag(help: "Continue from the newest valid checkpoint in --run-dir (also after a coordinator crash).")
    var resume = false
    @Option(name: .customLong("start-workers"), help: "Workers the first step waits for.")
    var startWorkers = 1
    @Option(name: .customLong("heartbeat-timeout-ms"), help: "A silent worker is evicted after this long.")
    var heartbeatTimeoutMs = 3000
    @Option(name: .customLong("step-timeout-ms"), help: "A step not reported by every worker is aborted after this.")
    var stepTimeoutMs = 120_000
    @Option(name: .customLong("recovery-window-ms"), help: ArgumentHelp("With --resume: how long to wait for "
            + "surviving workers to announce their state (default: the heartbeat timeout), unless --start-workers "
            + "join sooner."))
    var recoveryWindowMs: Int?
    @Option(help: ArgumentHelp("Serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9464)."))
    var metrics: String?
    @OptionGroup var security: ServerSecurityOptions
    @Option(name: .customLong("fault-checkpoint"), help: ArgumentHelp("Test only: SIGKILL while writing the "
            + "checkpoint of STEP at PHASE (afterModel, afterOptimizer, afterManifest, afterRename).",
            visibility: .hidden))
    var faultCheckpoint: String?

    @Flag(help: ArgumentHelp("Started by `neighbormae train`, which handles Ctrl-C.", visibility: .hidden))
    var managed = false

    func validate() throws {
        guard startWorkers >= 1 else { throw ValidationError("--start-workers must be at least 1") }
        guard heartbeatTimeoutMs >= 100 else { throw ValidationError("--heartbeat-timeout-ms must be >= 100") }
        guard stepTimeoutMs >= heartbeatTimeoutMs else {
            throw ValidationError("--step-timeout-ms (\(stepTimeoutMs)) must be >= --heartbeat-timeout-ms")
        }
    }

    func run() throws {
        let config = try training.resolvedConfig()
        let run = URL(fileURLWithPath: runDirectory).standardizedFileURL
        let endpoint = try bind ?? LocalCluster.controlEndpoint(run)
        var options = CoordinatorOptions(runDirectory: run, config: config, bind: endpoint)
        options.resume = resume
        options.startWorkers = startWorkers
        options.heartbeatTimeout = Millis(heartbeatTimeoutMs)
        options.heartbeatInterval = Millis(max(50, heartbeatTimeoutMs / 6))
        options.stepTimeout = Millis(stepTimeoutMs)
        options.recoveryWindow = recoveryWindowMs.map { Millis(max(0, $0)) }
        options.metricsBind = metrics
        options.security = try security.transportSecurity(for: endpoint)
        if let faultCheckpoint {
            let parts = faultCheckpoint.split(separator: ":").map(String.init)
            guard parts.count == 2, let step = Int(parts[0]),
                  let phase = CheckpointWritePhase(rawValue: parts[1]) else {
                throw ValidationError("--fault-checkpoint expects STEP:PHASE, e.g. 4:afterModel")
            }
            options.checkpointFault = (step, phase)
        }
        options.managed = managed
        let code = try CoordinatorShell(options: options).run()
        if code != 0 { throw ExitCode(code) }
    }
}
