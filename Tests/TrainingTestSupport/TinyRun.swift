import NeighborMAE
import Training

/// The run configuration of the end-to-end tests: a tiny model (16-pixel tiles, patch 4, encoder 2 × 32,
/// decoder 1 × 32) so a step of 16 pairs in 4 virtual shards takes tens of milliseconds.
public enum TinyRun {
    public static func config(scene: String, steps: Int) -> TrainingConfig {
        var config = TrainingConfig()
        config.sources = [scene]
        config.model = ModelConfig(imageSize: 16, patchSize: 4, encoderWidth: 32, encoderDepth: 2, encoderHeads: 2,
                                   decoderWidth: 32, decoderDepth: 1, decoderHeads: 2)
        config.pairs.tileSize = 16
        config.pairs.siteSize = 64
        config.batchSize = 16
        config.virtualShards = 4
        config.steps = steps
        config.peakLearningRate = 3e-3
        config.threads = 2
        config.logEvery = 1
        config.pictureEvery = 10
        config.seed = 11
        return config
    }
}
