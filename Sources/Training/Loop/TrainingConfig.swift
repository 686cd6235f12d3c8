import EOData
import NN
import NeighborMAE
import TensorCore

/// Everything a training run needs, with defaults in one place: the CPU preset on the sample scene.
public struct TrainingConfig: Codable, Sendable, Equatable {
    /// Network shape and loss.
    public var model = ModelConfig.cpu
    /// Rasters: files, folders or list files (EOData `RasterDataset`).
    public var sources = ["data/sample/bluemarble.tif"]
    /// How pairs are cut; `tileSize` and `imagesPerSample` must agree with `model`.
    public var pairs = PairConfig()
    /// Pairs per optimizer step (the global batch), split into `virtualShards` fixed shards (SYSTEM.md §4).
    public var batchSize = 64
    public var virtualShards = 4
    public var steps = 300
    /// Absolute peak learning rate (METHOD.md §10: base_lr·batch/256 is far too small at CPU scale).
    public var peakLearningRate = 1.5e-3
    public var minimumLearningRate = 0.0
    public var warmupFraction = 0.05
    public var optimizer = AdamWConfig()
    /// The optimised loss: the weighted loss of the method, or the plain masked MSE (ablation).
    public var objective = Objective.weighted
    /// How shard gradients are summed (in one process and across workers): `exact` converts each shard's
    /// gradient to 64-bit fixed point and sums integers, so results do not depend on how shards are
    /// grouped into workers (SYSTEM.md §4); `float` sums float32, faster and not bit-stable.
    public var gradientSum = GradientSum.exact
    /// Seed of the run: parameter initialisation and every data draw (`pairs.seed` is set from it).
    public var seed: UInt64 = 0
    /// Compute threads per process (0 = one per CPU).
    public var threads = 0
    /// Steps between metric lines, and between reconstruction pictures (0 = never; a distributed run draws
    /// one per checkpoint when this is not 0).
    public var logEvery = 10
    public var pictureEvery = 100
    /// Pairs shown in each reconstruction picture.
    public var picturePairs = 4
    /// Steps between checkpoints (0 = only at the end of the run), and how many to keep.
    public var checkpointEvery = 100
    public var keepCheckpoints = 3

    public enum Objective: String, Codable, Sendable {
        case weighted, plain
    }

    public enum GradientSum: String, Codable, Sendable {
        case exact, float
    }

    public init() {}

    /// Checks every cross-field rule; the first violation names the field and what to do.
    public func validate() throws(TrainingConfigError) {
        do { try model.validate() } catch { throw .invalid("model: \(error)") }
        do { try pairs.validate() } catch { throw .invalid("pairs: \(error)") }
        if pairs.tileSize != model.imageSize {
            throw .invalid("pairs.tileSize \(pairs.tileSize) differs from model.imageSize \(model.imageSize); "
                           + "hint: set both to the same tile side")
        }
        if pairs.imagesPerSample != model.imagesPerSample {
            throw .invalid("pairs.imagesPerSample \(pairs.imagesPerSample) differs from model.imagesPerSample "
                           + "\(model.imagesPerSample); hint: 2 for NeighborMAE, 1 for the MAE baseline")
        }
        if batchSize < 1 || virtualShards < 1 || batchSize % virtualShards != 0 {
            throw .invalid("batchSize \(batchSize) must be a positive multiple of virtualShards \(virtualShards)")
        }
        if steps < 1 { throw .invalid("steps \(steps) must be >= 1") }
        if gradientSum == .exact && virtualShards > FixedPointFormat.standard.safeSummands {
            throw .invalid("virtualShards \(virtualShards) exceeds \(FixedPointFormat.standard.safeSummands), the "
                           + "most shards an exact gradient sum always holds; hint: fewer, larger shards, "
                           + "or gradientSum: float")
        }
        if !(peakLearningRate > 0) || minimumLearningRate < 0 || minimumLearningRate > peakLearningRate {
            throw .invalid("learning rates: need 0 <= minimum (\(minimumLearningRate)) <= peak (\(peakLearningRate)), peak > 0")
        }
        if !(0...1).contains(warmupFraction) { throw .invalid("warmupFraction \(warmupFraction) must be in [0, 1]") }
        if threads < 0 { throw .invalid("threads \(threads) must be >= 0 (0 = one per CPU)") }
        if sources.isEmpty { throw .invalid("sources is empty; hint: give a GeoTIFF, a folder or a list file") }
        if logEvery < 1 { throw .invalid("logEvery \(logEvery) must be >= 1") }
        if checkpointEvery < 0 || keepCheckpoints < 1 {
            throw .invalid("checkpointEvery \(checkpointEvery) must be >= 0 and keepCheckpoints "
                           + "\(keepCheckpoints) >= 1")
        }
        if pictureEvery < 0 || picturePairs < 1 {
            throw .invalid("pictureEvery \(pictureEvery) must be >= 0 and picturePairs \(picturePairs) >= 1")
        }
    }

    /// The warm-up + cosine schedule of this run.
    public var schedule: LearningRateSchedule {
        LearningRateSchedule(peak: peakLearningRate, minimum: minimumLearningRate, warmupFraction: warmupFraction,
                             totalSteps: steps)
    }
}

/// A training configuration that cannot run, with the reason and a hint.
public enum TrainingConfigError: Error, CustomStringConvertible, Equatable {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let detail): "invalid training configuration: \(detail)"
        }
    }
}
