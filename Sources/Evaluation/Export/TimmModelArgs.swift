import NeighborMAE

/// The keyword arguments of `timm.models.vision_transformer.VisionTransformer` that build our encoder,
/// under timm's names (snake_case in JSON): everything else keeps timm's default, which already matches
/// METHOD.md §2.1 (pre-norm blocks, erf GELU, no layer scale, no drop-path, no pre-norm, conv patch embed
/// with bias). LayerNorm eps is not a constructor argument: the caller passes
/// `norm_layer=partial(nn.LayerNorm, eps=layer_norm_eps)`.
public struct TimmModelArgs: Codable, Equatable, Sendable {
    public var imgSize: Int
    public var patchSize: Int
    public var inChans: Int
    public var embedDim: Int
    public var depth: Int
    public var numHeads: Int
    public var mlpRatio: Double
    public var qkvBias: Bool
    public var classToken: Bool
    /// "token": the cls row is the pooled feature (and `fc_norm` stays Identity, as in our encoder).
    public var globalPool: String
    /// 0: no classifier head, so the state dict has no `head.*`.
    public var numClasses: Int

    public init(_ config: ModelConfig) {
        imgSize = config.imageSize
        patchSize = config.patchSize
        inChans = config.channels
        embedDim = config.encoderWidth
        depth = config.encoderDepth
        numHeads = config.encoderHeads
        mlpRatio = Double(config.mlpRatio)
        qkvBias = true
        classToken = true
        globalPool = "token"
        numClasses = 0
    }

    enum CodingKeys: String, CodingKey {
        case imgSize = "img_size", patchSize = "patch_size", inChans = "in_chans", embedDim = "embed_dim"
        case depth, numHeads = "num_heads", mlpRatio = "mlp_ratio", qkvBias = "qkv_bias"
        case classToken = "class_token", globalPool = "global_pool", numClasses = "num_classes"
    }
}
