import EOData
import Foundation
import NN
import NeighborMAE
import TensorCore
import Training

/// The encoder of a training run, frozen, as downstream tools use it (METHOD.md §3 single-image use):
/// the model and parameters of a verified checkpoint (or a random initialisation, the probe's floor),
/// the run's configuration, and the channel statistics its tiles were normalised with.
public struct PretrainedEncoder: Sendable {
    public let config: TrainingConfig
    public let model: NeighborMAEModel
    public let arena: ParameterArena
    /// Per-channel mean and std of the raw pixel values, as in training.
    public let stats: ChannelStats
    /// Optimizer steps behind these weights (0 for a random initialisation).
    public let step: Int
    /// Where the weights came from, for reports: "runs/x/checkpoints/step-0000600" or "random init (seed 0)".
    public let origin: String

    /// Loads the newest valid checkpoint under `path`: a run directory, its `checkpoints/` folder, or one
    /// checkpoint directory (`step-NNNNNNN` or `latest`). Checksums are verified; a run directory falls back
    /// to older checkpoints (reported through `log`) like `--resume` does. `stats` overrides the channel
    /// statistics, which are otherwise re-estimated from the run's rasters exactly as training did.
    public static func load(from path: URL, stats: ChannelStats? = nil,
                            log: (String) -> Void = { _ in }) throws -> PretrainedEncoder {
        let candidates = CheckpointStore.checkpoints(under: path)   // one checkpoint given: no fallback
        guard !candidates.isEmpty else { throw EvaluationError.noCheckpoint(path.path) }
        var loaded: (url: URL, manifest: CheckpointManifest, arena: ParameterArena)?
        for (index, url) in candidates.enumerated() {
            do {
                // The manifest's model config gives the layout to load into; validated first, since a
                // manifest is input from disk and an impossible shape would trap in the model's init.
                let manifest = try CheckpointStore.verify(url)
                try manifest.config.validate()
                let arena = ParameterArena(layout: NeighborMAEModel(config: manifest.config.model).layout, seed: 0)
                try CheckpointStore.load(url, into: arena)
                loaded = (url, manifest, arena)
                break
            } catch {
                if index == candidates.count - 1 { throw error }
                log("\(error); falling back to the previous checkpoint")
            }
        }
        guard let loaded else { throw EvaluationError.noCheckpoint(path.path) }
        let config = loaded.manifest.config
        return PretrainedEncoder(config: config, model: NeighborMAEModel(config: config.model), arena: loaded.arena,
                                 stats: try stats ?? trainingStats(config), step: loaded.manifest.step,
                                 origin: loaded.url.path)
    }

    /// The same network with the run's initial parameters (before any step): the floor a probe of
    /// pretrained features has to beat.
    public static func randomlyInitialised(like pretrained: PretrainedEncoder) -> PretrainedEncoder {
        let arena = ParameterArena(layout: pretrained.model.layout, seed: pretrained.config.seed)
        return PretrainedEncoder(config: pretrained.config, model: pretrained.model, arena: arena,
                                 stats: pretrained.stats, step: 0,
                                 origin: "random init (seed \(pretrained.config.seed))")
    }

    /// Channel statistics saved as `channel-stats.json` (the `--stats` option of probe and export).
    public static func statistics(file path: String) throws -> ChannelStats {
        do {
            return try ChannelStats(jsonData: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw EvaluationError.statisticsFile(path: path, reason: error.localizedDescription)
        }
    }

    /// The channel statistics training used: estimated from the run's rasters with the run's seed, which
    /// is deterministic (EOData `ChannelStats`).
    public static func trainingStats(_ config: TrainingConfig) throws -> ChannelStats {
        var pairs = config.pairs
        pairs.seed = config.seed
        do {
            return try PairSampler(sources: config.sources, config: pairs).stats
        } catch {
            throw EvaluationError.statisticsUnavailable(sources: config.sources, reason: "\(error)")
        }
    }

    /// Frozen features of normalised single images [N, C, T, T]: [N, 1 + L, D] (row 0 = cls), computed in
    /// batches of `batchSize` images so memory stays bounded.
    public func encode(_ images: Tensor, batchSize: Int = 64, pool: ThreadPool? = nil) -> Tensor {
        let c = config.model, n = images.shape[0], plane = c.channels * c.imageSize * c.imageSize
        let rows = (1 + c.patchesPerImage) * c.encoderWidth
        let out = Tensor(zeros: [n, 1 + c.patchesPerImage, c.encoderWidth])
        let context = LayerContext(arena: arena, pool: pool)
        for start in stride(from: 0, to: n, by: batchSize) {
            let count = min(batchSize, n - start)
            let batch = Tensor(shape: [count, c.channels, c.imageSize, c.imageSize],
                               values: images.withUnsafeBufferPointer {
                                   Array($0[(start * plane)..<((start + count) * plane)])
                               })
            let features = model.encodeSingleImages(batch, context)
            features.withUnsafeBufferPointer { source in
                out.withUnsafeMutableBufferPointer { target in
                    _ = UnsafeMutableBufferPointer(rebasing: target[(start * rows)...]).update(fromContentsOf: source)
                }
            }
        }
        return out
    }
}
