import NeighborMAE
import TensorCore
import TestSupport

/// A synthetic loss input in the fixture's tiny geometry (T = 16, p = 4, C = 3, kernel 5): boxes per pair,
/// both images rendered from one `World` (the neighbour photometrically perturbed, like a revisit),
/// visibility from a random `MaskPlan` with the IoU rule, and a random prediction.
struct LossBatch {
    static let config = ModelConfig(imageSize: 16, patchSize: 4, encoderWidth: 32, encoderDepth: 2, encoderHeads: 2,
                                    decoderWidth: 16, decoderDepth: 1, decoderHeads: 2)

    /// (a) strongly overlapping, (b) partially overlapping, (c) disjoint — in the [0, 32]² pair frame.
    static let overlapping = [TileBox(left: 0, top: 32, right: 30.3, bottom: 1.7),
                              TileBox(left: 2.6, top: 30.15, right: 32, bottom: 0)]
    static let partial = [TileBox(left: 0, top: 32, right: 18.35, bottom: 13.05),
                          TileBox(left: 9.7, top: 21.55, right: 32, bottom: 0)]
    static let disjoint = [TileBox(left: 0, top: 32, right: 14.2, bottom: 17.9),
                           TileBox(left: 19.3, top: 13.6, right: 32, bottom: 0)]

    var config: ModelConfig
    var boxes: [TileBox]
    var pred: Tensor
    var images: Tensor
    var visibility: Tensor

    init(boxes: [TileBox], config: ModelConfig = LossBatch.config, seed: UInt32 = 1) {
        let c = config.channels, t = config.imageSize, k = config.imagesPerSample, b = boxes.count / k
        let world = World(channels: c)
        var stream = CounterRNG(seed: 11).stream(seed, 1)
        var values: [Float] = []
        for (n, box) in boxes.enumerated() {
            let render = world.render(box, size: t)
            values += n % 2 == 0 ? render : render.map { 1.15 * $0 + 0.08 + 0.05 * (stream.nextUniform() - 0.5) }
        }
        let ious = (0..<b).map { k == 2 ? Self.iou(boxes[2 * $0], boxes[2 * $0 + 1]) : 0 }
        let plan = MaskPlan(streams: (0..<b).map { CounterRNG(seed: 12).stream(seed, UInt32($0)) },
                            visibleCounts: MaskPlan.visibleCounts(ious: ious, config: config), config: config)
        self.config = config
        self.boxes = boxes
        images = Tensor(shape: [b, k, c, t, t], values: values)
        visibility = plan.pixelVisibility(geometry: PatchGeometry(config))
        pred = randomTensor([b, k, c, t, t], tag: 40 + seed, scale: 1.5)
    }

    static func iou(_ a: TileBox, _ b: TileBox) -> Double {
        let w = max(0, min(a.right, b.right) - max(a.left, b.left))
        let h = max(0, min(a.top, b.top) - max(a.bottom, b.bottom))
        return w * h / (a.width * a.height + b.width * b.height - w * h)
    }

    var boxTensor: Tensor? {
        config.imagesPerSample == 2
            ? Tensor(shape: [boxes.count / 2, 2, 4], values: boxValues(boxes))
            : nil
    }

    func forward(pred: Tensor? = nil, pool: ThreadPool? = nil) -> LossOutput {
        neighborLossForward(pred: pred ?? self.pred, images: images, visibility: visibility, boxes: boxTensor,
                            config: config, pool: pool)
    }
}
