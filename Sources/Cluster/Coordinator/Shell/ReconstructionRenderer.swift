import EOData
import Foundation
import NN
import NeighborMAE
import Training

// MARK: - Reconstruction pictures of checkpointed states

/// Draws what the single-process trainer draws (per pair: original, masked input, reconstruction, for both
/// tiles) for a checkpointed state: the coordinator computes no gradients, but after each checkpoint it
/// runs one forward pass on the first virtual shard of that step with the checkpoint's parameters.
/// Built on first use (it opens the rasters and allocates a replica); used on the background thread only.
final class ReconstructionRenderer {
    let config: TrainingConfig
    private var replica: Replica?

    init(config: TrainingConfig) {
        var single = config
        single.threads = 1   // the coordinator's own cores belong to the workers
        self.config = single
    }

    /// `recon/step-NNNNNNN.png` bytes for the parameters in `arena` after `step` steps.
    func png(parameters arena: ParameterArena, step: Int) throws -> [UInt8] {
        let replica = try self.replica ?? Replica(config: config)
        self.replica = replica
        replica.arena.parameters.withUnsafeMutableBufferPointer { target in
            arena.parameters.withUnsafeBufferPointer { _ = target.update(fromContentsOf: $0) }
        }
        let positions = Array(replica.shards.positions(step: step, shard: 0))
        let batch = try ShardBatch(positions: positions, loader: replica.loader, config: config.model)
        let forward = replica.model.forward(batch.model, LayerContext(arena: replica.arena, pool: replica.pool))
        return reconstructionPicture(forward, pairs: config.picturePairs, normPix: config.model.normPixLoss,
                                     stats: replica.loader.sampler.stats).png()
    }
}
