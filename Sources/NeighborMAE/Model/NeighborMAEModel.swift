import NN
import TensorCore

/// The NeighborMAE network (METHOD.md §2, §9): one shared ViT encoder over [cls] + the kept tokens of
/// all K images of a sample, a joint decoder over [cls] + every patch slot of all K images, and the
/// visibility-weighted pixel loss. K = 1 is the single-image MAE baseline with the standard table.
///
/// Parameters are registered in the reference model's order and under its PyTorch names (ISSUE4.md),
/// so a checkpoint or fixture maps one to one. The struct holds only shapes and `ParameterID`s; the
/// values live in a `ParameterArena` built from `layout`.
public struct NeighborMAEModel: Sendable {
    public let config: ModelConfig
    public let layout: ParameterLayout

    let patchEmbed: Linear
    let clsToken: ParameterID
    let imageEmbed: ParameterID
    let blocks: [TransformerBlock]
    let norm: LayerNorm
    let decoderEmbed: Linear
    let maskToken: ParameterID
    let decoderImageEmbed: ParameterID
    let decoderBlocks: [TransformerBlock]
    let decoderNorm: LayerNorm
    let decoderPred: Linear

    /// Registers every parameter of `config` (call `config.validate()` first for user input).
    public init(config: ModelConfig) {
        let d = config.encoderWidth, e = config.decoderWidth, k = config.imagesPerSample
        let eps = config.layerNormEpsilon
        var layout = ParameterLayout()
        patchEmbed = Linear(name: "patch_embed", inFeatures: config.patchDimension, outFeatures: d, layout: &layout)
        clsToken = layout.register("cls_token", shape: [1, 1, d], initializer: .normal(std: 0.02))
        imageEmbed = layout.register("img_embed", shape: [1, k, d], initializer: .normal(std: 0.02))
        blocks = (0..<config.encoderDepth).map { i in
            TransformerBlock(name: "blocks.\(i)", width: d, heads: config.encoderHeads, mlpRatio: config.mlpRatio,
                             eps: eps, layout: &layout)
        }
        norm = LayerNorm(name: "norm", width: d, eps: eps, layout: &layout)
        decoderEmbed = Linear(name: "decoder_embed", inFeatures: d, outFeatures: e, layout: &layout)
        maskToken = layout.register("mask_token", shape: [1, 1, e], initializer: .normal(std: 0.02))
        decoderImageEmbed = layout.register("decoder_img_embed", shape: [1, k, e], initializer: .normal(std: 0.02))
        decoderBlocks = (0..<config.decoderDepth).map { i in
            TransformerBlock(name: "decoder_blocks.\(i)", width: e, heads: config.decoderHeads,
                             mlpRatio: config.mlpRatio, eps: eps, layout: &layout)
        }
        decoderNorm = LayerNorm(name: "decoder_norm", width: e, eps: eps, layout: &layout)
        decoderPred = Linear(name: "decoder_pred", inFeatures: e, outFeatures: config.patchDimension, layout: &layout)
        self.config = config
        self.layout = layout
    }
}

/// One batch as the model consumes it. Shapes: images [B, K, C, T, T] (normalised), boxes [B, K, 4] in the
/// pair frame (left, top, right, bottom; ignored for K = 1, which uses the full-frame table), and the mask.
public struct ModelBatch: Sendable {
    public let images: Tensor
    public let boxes: Tensor
    public let mask: MaskPlan

    public init(images: Tensor, boxes: Tensor, mask: MaskPlan) {
        precondition(images.rank == 5 && boxes.shape == [images.shape[0], images.shape[1], 4],
                     "ModelBatch: images \(images.shape), boxes \(boxes.shape); expected [B, K, C, T, T] and [B, K, 4]")
        precondition(mask.batchSize == images.shape[0] && mask.imagesPerSample == images.shape[1],
                     "ModelBatch: mask for B = \(mask.batchSize), K = \(mask.imagesPerSample); images \(images.shape)")
        self.images = images
        self.boxes = boxes
        self.mask = mask
    }

    public var batchSize: Int { images.shape[0] }
}
