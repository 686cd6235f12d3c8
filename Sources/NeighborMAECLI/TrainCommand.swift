import ArgumentParser
import Foundation
import Training

/// `neighbormae train`: trains on the embedded default (CPU preset, sample scene) or the given rasters.
/// Today this is one process; the distributed runtime (local coordinator + workers) replaces it.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Pretrain NeighborMAE (single process for now) and write a run directory.")

    @Option(name: .customLong("run-dir"), help: "Run directory (created).")
    var runDirectory = "runs/default"

    @Option(parsing: .upToNextOption, help: "Rasters: GeoTIFF files, folders or list files.")
    var sources: [String] = TrainingConfig().sources

    @Option(help: "Optimizer steps.") var steps = TrainingConfig().steps
    @Option(name: .customLong("batch-size"), help: "Pairs per step.") var batchSize = TrainingConfig().batchSize
    @Option(name: .customLong("shards"), help: "Virtual shards per step.") var virtualShards = TrainingConfig().virtualShards
    @Option(name: .customLong("lr"), help: "Peak learning rate.") var learningRate = TrainingConfig().peakLearningRate
    @Option(help: "Compute threads (0 = one per CPU).") var threads = 0
    @Option(help: "Run seed.") var seed: UInt64 = 0
    @Option(help: "Optimised loss: weighted (the method) or plain (ablation).") var objective = "weighted"
    @Flag(name: .customLong("mae-baseline"), help: "Single-image MAE baseline (K = 1).") var maeBaseline = false
    @Option(name: .customLong("picture-every"), help: "Steps between reconstruction pictures (0 = never).")
    var pictureEvery = TrainingConfig().pictureEvery
    @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints (0 = only at the end).")
    var checkpointEvery = TrainingConfig().checkpointEvery
    @Flag(help: "Continue from the newest valid checkpoint in --run-dir (same config).") var resume = false

    func run() throws {
        var config = TrainingConfig()
        config.sources = sources
        config.steps = steps
        config.batchSize = batchSize
        config.virtualShards = virtualShards
        config.peakLearningRate = learningRate
        config.threads = threads
        config.seed = seed
        config.pictureEvery = pictureEvery
        config.checkpointEvery = checkpointEvery
        guard let parsed = TrainingConfig.Objective(rawValue: objective) else {
            throw ValidationError("--objective must be weighted or plain, not \(objective)")
        }
        config.objective = parsed
        if maeBaseline {
            config.model.imagesPerSample = 1
            config.pairs.imagesPerSample = 1
        }
        do {
            try config.validate()
        } catch {
            throw ValidationError("\(error)")
        }
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
        print("[train] done: metrics.jsonl, loss.png, recon/ in \(runDirectory)")
    }
}
