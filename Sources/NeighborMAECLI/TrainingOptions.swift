import ArgumentParser
import Foundation
import Training

/// The run configuration as flags over a YAML file over the defaults (`train` and `coordinator`).
struct TrainingOptions: ParsableArguments {
    @Option(help: "YAML file whose keys override the defaults (see config.yaml of any run directory).")
    var config: String?

    @Option(parsing: .upToNextOption, help: "Rasters: GeoTIFF files, folders or list files.")
    var sources: [String] = []

    @Option(help: "Optimizer steps (default \(TrainingConfig().steps)).") var steps: Int?
    @Option(name: .customLong("batch-size"), help: "Pairs per step (default \(TrainingConfig().batchSize)).")
    var batchSize: Int?
    @Option(name: .customLong("shards"), help: "Virtual shards per step (default \(TrainingConfig().virtualShards)).")
    var virtualShards: Int?
    @Option(name: .customLong("lr"), help: "Peak learning rate (default \(TrainingConfig().peakLearningRate)).")
    var learningRate: Double?
    @Option(help: "Compute threads (0 = one per CPU).") var threads: Int?
    @Option(help: "Run seed.") var seed: UInt64?
    @Option(help: "Optimised loss: weighted (the method) or plain (ablation).") var objective: String?
    @Flag(name: .customLong("mae-baseline"), help: "Single-image MAE baseline (K = 1).") var maeBaseline = false
    @Option(name: .customLong("picture-every"), help: "Steps between reconstruction pictures (0 = never).")
    var pictureEvery: Int?
    @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints (0 = only at the end).")
    var checkpointEvery: Int?

    /// Defaults, then the YAML file, then the flags given on the command line.
    func resolvedConfig() throws -> TrainingConfig {
        var config = TrainingConfig()
        if let path = self.config {
            do { config = try TrainingConfig.load(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw ValidationError("\(error)")
            }
        }
        if !sources.isEmpty { config.sources = sources }
        if let steps { config.steps = steps }
        if let batchSize { config.batchSize = batchSize }
        if let virtualShards { config.virtualShards = virtualShards }
        if let learningRate { config.peakLearningRate = learningRate }
        if let threads { config.threads = threads }
        if let seed { config.seed = seed }
        if let pictureEvery { config.pictureEvery = pictureEvery }
        if let checkpointEvery { config.checkpointEvery = checkpointEvery }
        if let objective {
            guard let parsed = TrainingConfig.Objective(rawValue: objective) else {
                throw ValidationError("--objective must be weighted or plain, not \(objective)")
            }
            config.objective = parsed
        }
        if maeBaseline {
            config.model.imagesPerSample = 1
            config.pairs.imagesPerSample = 1
        }
        do { try config.validate() } catch { throw ValidationError("\(error)") }
        return config
    }
}
