import EOData
import Foundation
import NN
import NeighborMAE
import TensorCore

// MARK: - One full copy of the model, its optimizer state and its data pipeline

/// Everything one process needs to compute gradients of virtual shards and apply updates: the data
/// pipeline, the model, the parameter arena (parameters, gradients, AdamW moments) and the thread pool.
/// The single-process `Trainer` owns one; so does every distributed worker.
public final class Replica {
    public let config: TrainingConfig
    public let model: NeighborMAEModel
    public let arena: ParameterArena
    public let loader: BatchLoader
    public let shards: VirtualShards
    public let gradients: ShardGradients
    public let pool: ThreadPool

    /// Opens the rasters of `config.sources` and initialises the parameters from `config.seed`.
    public init(config: TrainingConfig) throws {
        try config.validate()
        self.config = config
        let threads = config.threads == 0 ? ThreadPool.machineThreadCount : config.threads
        pool = ThreadPool(threadCount: threads)
        var pairs = config.pairs
        pairs.seed = config.seed
        let sampler = try PairSampler(sources: config.sources, config: pairs)
        guard sampler.channels == config.model.channels else {
            throw TrainingConfigError.invalid("the dataset has \(sampler.channels) bands, model.channels is "
                + "\(config.model.channels); hint: set model.channels to \(sampler.channels)")
        }
        loader = BatchLoader(sampler: sampler, threadCount: threads)
        shards = try VirtualShards(batchSize: config.batchSize, shardCount: config.virtualShards)
        model = NeighborMAEModel(config: config.model)
        arena = ParameterArena(layout: model.layout, seed: config.seed)
        gradients = ShardGradients(config: config, model: model, arena: arena, loader: loader, shards: shards,
                                   pool: pool)
    }

    /// Applies the AdamW update of step `step` (0-based) with the summed gradient in `arena.gradients`.
    public func applyUpdate(step: Int, learningRate: Double) {
        adamWStep(arena, config: config.optimizer, learningRate: Float(learningRate), step: step + 1, pool: pool)
    }

    /// The replica's state after `steps` optimizer steps (the data cursor follows from the batch size).
    public func state(afterSteps steps: Int) -> TrainingState {
        TrainingState(step: steps, samplesConsumed: steps * config.batchSize, arena: arena)
    }
}
