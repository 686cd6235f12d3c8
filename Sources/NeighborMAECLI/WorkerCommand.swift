import ArgumentParser
import Cluster
import Comm
import Foundation
import Training

/// `neighbormae worker`: joins a coordinator, computes its shards, all-reduces with its ring neighbours.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Join a run's coordinator and train until the run ends.")

    @Option(help: "The coordinator's control endpoint (its --bind).") var coordinator: String
    @Option(name: .customLong("data-bind"), help: ArgumentHelp("Where this worker's ring receiver binds: "
            + "ipc:///dir/name, tcp://0.0.0.0:PORT with --advertise, or shm://NAME (a shared-memory mailbox: "
            + "every worker and the coordinator on this host)."))
    var dataBind: String
    @Option(help: "Host name or address other workers reach a tcp --data-bind at.") var advertise: String?
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Rasters (default: those of --config, else the sample "
            + "scene). The run's config comes from the coordinator; the files must be the same (fingerprint checked)."))
    var sources: [String] = []
    @Option(help: "YAML file to take `sources` from.") var config: String?
    @Option(help: "Compute threads (0 = one per CPU).") var threads = 0
    @Option(help: "Name in the coordinator's log (default host-pid).") var name: String?
    @OptionGroup var security: ClientSecurityOptions
    @Option(name: .customLong("ring-allow"), help: ArgumentHelp("Allow-list of the public keys that may connect to "
            + "a tcp ring receiver: the other workers' and the coordinator's."))
    var ringAllowFile: String?
    @Option(name: .customLong("ring-timeout-ms"), help: "Deadline of every ring chunk.") var ringTimeoutMs = 5000
    @Option(name: .customLong("coordinator-timeout-ms"),
            help: "Without word from the coordinator for this long, keep the state and join again.")
    var coordinatorTimeoutMs = 10_000
    @Option(help: ArgumentHelp("Test only: SIGKILL at STEP:PHASE (plan, reduce, gather, report, commit, transfer, "
                               + "checkpoint).",
                               visibility: .hidden))
    var fault: String?
    @Option(name: .customLong("pace-ms"), help: ArgumentHelp("Test only: add this many ms to every step's compute, "
            + "as on a slower host.", visibility: .hidden))
    var paceMs = 0

    @Flag(help: ArgumentHelp("Started by `neighbormae train`, which handles Ctrl-C.", visibility: .hidden))
    var managed = false

    func validate() throws {
        guard threads >= 0 else { throw ValidationError("--threads must be >= 0 (0 = one per CPU)") }
        guard ringTimeoutMs >= 100 else { throw ValidationError("--ring-timeout-ms must be >= 100") }
        guard coordinatorTimeoutMs >= 500 else { throw ValidationError("--coordinator-timeout-ms must be >= 500") }
    }

    func run() throws {
        var rasters = sources
        if rasters.isEmpty {
            rasters = try config.map { try TrainingConfig.load(contentsOf: URL(fileURLWithPath: $0)).sources }
                ?? TrainingConfig().sources
        }
        let host = ProcessInfo.processInfo.hostName
        var options = WorkerOptions(coordinator: coordinator, dataBind: dataBind, sources: rasters, threads: threads,
                                    name: name ?? "\(host)-\(getpid())")
        options.advertiseHost = advertise
        options.controlSecurity = try security.transportSecurity(for: coordinator)
        if dataBind.hasPrefix("tcp://") {
            if security.insecure {
                options.dataSecurity = .insecureLoopback
            } else {
                guard let keyFile = security.keyFile, let allowFile = ringAllowFile else {
                    throw ValidationError("a tcp ring (--data-bind \(dataBind)) needs --key and --ring-allow (CURVE), "
                                          + "or --insecure on loopback")
                }
                options.dataSecurity = .curve(try CurveKeyFiles.loadKeyPair(keyFile),
                                              allowList: try CurveKeyFiles.loadAllowList(allowFile))
            }
        }
        options.ringTimeout = .milliseconds(ringTimeoutMs)
        options.paceMs = max(0, paceMs)
        options.timing.coordinatorTimeout = Int64(coordinatorTimeoutMs)
        if let fault {
            guard let parsed = WorkerFault(fault) else { throw ValidationError("--fault expects STEP:PHASE") }
            options.fault = parsed
        }
        options.managed = managed
        let code = try WorkerShell(options: options).run()
        if code != 0 { throw ExitCode(code) }
    }
}
