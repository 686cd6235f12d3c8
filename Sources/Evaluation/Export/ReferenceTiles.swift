import EOData
import TensorCore
import Training

/// Real, normalised tiles for checking an export against timm: images [N, C, T, T] and where they came from.
public struct ReferenceTiles: Sendable {
    public let images: Tensor
    /// For the file's metadata, e.g. "anchor tiles of samples 0..<8 of data/sample/bluemarble.tif (seed 0)".
    public let origin: String

    public init(images: Tensor, origin: String) {
        precondition(images.rank == 4 && images.shape[2] == images.shape[3] && images.shape[0] > 0,
                     "ReferenceTiles: images \(images.shape), expected [N, C, T, T] with N >= 1")
        self.images = images
        self.origin = origin
    }

    /// The anchor image (slot 0: the site crop, never photometrically jittered) of samples 0..<count of
    /// the run's own sample sequence: the training `PairSampler` with the run's seed, normalised with
    /// `stats`. Deterministic for (rasters, config), so a re-export gives the same tiles.
    public static func anchors(count: Int, config: TrainingConfig, stats: ChannelStats) throws(ExportError)
        -> ReferenceTiles {
        precondition(count > 0, "ReferenceTiles.anchors: count must be positive")
        guard stats.mean.count == config.model.channels else {
            throw .statistics("\(stats.mean.count) channels of statistics for a \(config.model.channels)-channel model")
        }
        var pairs = config.pairs
        pairs.seed = config.seed                                     // as training and `trainingStats` do
        let batch: PairBatch
        do {
            let sampler = try PairSampler(sources: config.sources, config: pairs, stats: stats)
            let model = config.model
            guard sampler.channels == model.channels, sampler.tileSize == model.imageSize else {
                throw ExportError.referenceTiles(
                    sources: config.sources,
                    reason: "the rasters give \(sampler.channels) channels at \(sampler.tileSize) px, the model "
                        + "takes \(model.channels) at \(model.imageSize) px")
            }
            batch = try BatchLoader(sampler: sampler).load(positions: Array(0..<count))
        } catch let error as ExportError {
            throw error
        } catch {
            throw .referenceTiles(sources: config.sources, reason: "\(error)")
        }
        // batch.images [N, K, C, T, T] → slot 0 of each sample: [N, C, T, T].
        let shape = batch.images.shape, k = shape[1], plane = shape[2] * shape[3] * shape[4]
        let images = Tensor(zeros: [count, shape[2], shape[3], shape[4]])
        batch.images.withUnsafeBufferPointer { samples in
            images.withUnsafeMutableBufferPointer { anchors in
                for n in 0..<count {
                    for i in 0..<plane { anchors[n * plane + i] = samples[n * k * plane + i] }
                }
            }
        }
        let origin = "anchor tiles of samples 0..<\(count) of \(config.sources.joined(separator: ", ")) "
            + "(seed \(config.seed)), normalised per channel"
        return ReferenceTiles(images: images, origin: origin)
    }
}
