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

    /// Masked pixels of the samples at `positions` from their geometry alone (no pixels read): what
    /// `ShardBatch(...).maskedPixels` gives for the same positions. A worker sums this over the whole
    /// step to get the global loss denominator without loading the other workers' shards.
    public static func maskedPixels(positions: [Int], sampler: PairSampler, config: ModelConfig) -> Int {
        // IoUs pass through Float exactly as in `BatchLoader`, so both paths draw the same visible counts.
        let ious = positions.map { Double(Float(sampler.geometry($0).iou)) }
        return MaskPlan.maskedPixelCount(visibleCounts: MaskPlan.visibleCounts(ious: ious, config: config),
                                         patchesPerImage: config.patchesPerImage, patchSize: config.patchSize)
    }
}
