import ArgumentParser
import Cluster
import Foundation
import Training

/// `neighbormae train`: the embedded default. Starts a coordinator and N worker processes on this machine
/// (ipc endpoints in the run directory) and trains on the sample scene, a YAML config, or flags over
/// either; `--in-process` runs the same training in one process without the cluster runtime.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Pretrain NeighborMAE with a local coordinator and worker processes; write a run directory.")

    @OptionGroup var training: TrainingOptions

    @Option(name: .customLong("run-dir"), help: "Run directory (created).")
    var runDirectory = "runs/default"
    @Option(help: "Worker processes (each uses --threads compute threads).")
    var workers = 2
    @Flag(help: "Continue from the newest valid checkpoint in --run-dir (same config; any worker count).")
    var resume = false
    @Flag(name: .customLong("in-process"), help: "Train in this process (no coordinator, no workers).")
    var inProcess = false
    @Option(help: "Where the coordinator serves Prometheus metrics (HOST:PORT; \"off\" for nowhere).")
    var metrics = "127.0.0.1:9464"

    func validate() throws {
        guard (1...64).contains(workers) else { throw ValidationError("--workers must be in 1...64, not \(workers)") }
    }

    func run() throws {
        var config = try training.resolvedConfig()
        if inProcess { return try runInProcess(config) }
        if training.threads == nil {   // workers share the machine: split its cores between them
            config.threads = max(1, ProcessInfo.processInfo.activeProcessorCount / workers)
        }
        let launcher = LocalCluster(runDirectory: URL(fileURLWithPath: runDirectory), config: config,
                                    workers: workers, resume: resume)
        launcher.metricsBind = metrics == "off" ? nil : metrics
        let code = try launcher.run()
        if code != 0 { throw ExitCode(code) }
    }

    private func runInProcess(_ config: TrainingConfig) throws {
        let trainer = try Trainer(config: config, runDirectory: URL(fileURLWithPath: runDirectory), resume: resume)
        print("[train] \(trainer.model.layout.parameterCount) parameters, \(config.steps) steps of "
              + "\(config.batchSize) pairs -> \(runDirectory)")
        try trainer.run { report in
            if report.step % config.logEvery == 0 || report.step + 1 == config.steps {
                let remaining = Double(config.steps - report.step - 1) * report.seconds
                print(String(format: "[train] step %5d  loss %.4f  weighted %.4f  lr %.2e  %.1f pairs/s  ETA %.0f s",
                             report.step, report.loss, report.weightedLoss, report.learningRate,
                             report.pairsPerSecond, remaining))
                fflush(nil)                                 // progress shows up when piped to a file
            }
        }
        print("[train] done: metrics.jsonl, loss.png, recon/, checkpoints/ in \(runDirectory)")
    }
}
