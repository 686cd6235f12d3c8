import EOData
import NeighborMAE
import TensorCore

/// One virtual shard's samples turned into model input: pixels and geometry from the data pipeline,
/// the random mask keyed by each sample (RandomPurpose.mask), so any process builds the same batch.
public struct ShardBatch: Sendable {
    public let positions: [Int]
    public let model: ModelBatch
    /// Masked pixels of this shard, N_shard (the loss denominator's share).
    public let maskedPixels: Int

    /// Loads `positions` and draws their masks. Shapes follow `config` (B = positions.count).
    public init(positions: [Int], loader: BatchLoader, config: ModelConfig) throws(EODataError) {
        let pairs = try loader.load(positions: positions)
        let sampler = loader.sampler
        let streams = positions.map { sampler.randomStream(position: $0, purpose: .mask) }
        let counts = MaskPlan.visibleCounts(ious: pairs.iou.map(Double.init), config: config)
        let mask = MaskPlan(streams: streams, visibleCounts: counts, config: config)
        let k = config.imagesPerSample
        let boxes = Tensor(shape: [positions.count, k, 4], values: pairs.boxes)
        self.positions = positions
        model = ModelBatch(images: pairs.images, boxes: boxes, mask: mask)
        maskedPixels = mask.maskedPixelCount(patchSize: config.patchSize)
    }
}
