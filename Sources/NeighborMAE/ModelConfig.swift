// The model's shape and loss settings (METHOD.md §2, §4, §5, §10, §11) with the letters of ISSUE4.md:
// T tile side, p patch side, C channels, K images per sample, G = T/p, L = G², P = p²·C,
// D / E encoder / decoder width, n_max = round((1 − mrMin)·L), S = 1 + K·n_max, Q = 1 + K·L.

/// Everything that fixes the network's shapes and the loss, with defaults in one place.
///
/// The defaults are the CPU preset of METHOD.md §11 (`ModelConfig.cpu`); `ModelConfig.vitB16` is the
/// paper's ViT-B/16 recipe. Call `validate()` before building a model from a user-supplied config.
public struct ModelConfig: Codable, Sendable, Equatable {
    /// T: tile side in pixels (images are T × T).
    public var imageSize = 64
    /// p: patch side in pixels.
    public var patchSize = 8
    /// C: image channels.
    public var channels = 3
    /// K: images per sample (2 = neighbour pair, 1 = single-image MAE baseline).
    public var imagesPerSample = 2
    /// D, encoder depth, encoder heads.
    public var encoderWidth = 192
    public var encoderDepth = 4
    public var encoderHeads = 3
    /// E, decoder depth, decoder heads.
    public var decoderWidth = 128
    public var decoderDepth = 2
    public var decoderHeads = 4
    /// MLP hidden width = mlpRatio · width.
    public var mlpRatio = 4
    /// Mask ratio at IoU 0 and at IoU 1 (METHOD.md §4.2).
    public var maskRatioMin = 0.75
    public var maskRatioMax = 0.85
    /// Normalise each target patch by its mean and unbiased variance (METHOD.md §5.1).
    public var normPixLoss = true
    /// Side of the AvgPool that smooths the loss weights (odd; METHOD.md §5.4, §10).
    public var weightKernel = 5
    /// ε in w0 = e_proj / (e + ε) (METHOD.md §8.13).
    public var weightEpsilon: Float = 1e-8
    /// LayerNorm ε of every norm in the network.
    public var layerNormEpsilon: Float = 1e-6

    /// The CPU preset (METHOD.md §11): 64 px tiles, patch 8, encoder 192/4/3, decoder 128/2/4, kernel 5.
    public init() {}

    /// A config with every field given (defaults = the CPU preset).
    public init(imageSize: Int = 64, patchSize: Int = 8, channels: Int = 3, imagesPerSample: Int = 2,
                encoderWidth: Int = 192, encoderDepth: Int = 4, encoderHeads: Int = 3,
                decoderWidth: Int = 128, decoderDepth: Int = 2, decoderHeads: Int = 4, mlpRatio: Int = 4,
                maskRatioMin: Double = 0.75, maskRatioMax: Double = 0.85, normPixLoss: Bool = true,
                weightKernel: Int = 5, weightEpsilon: Float = 1e-8, layerNormEpsilon: Float = 1e-6) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.channels = channels
        self.imagesPerSample = imagesPerSample
        self.encoderWidth = encoderWidth
        self.encoderDepth = encoderDepth
        self.encoderHeads = encoderHeads
        self.decoderWidth = decoderWidth
        self.decoderDepth = decoderDepth
        self.decoderHeads = decoderHeads
        self.mlpRatio = mlpRatio
        self.maskRatioMin = maskRatioMin
        self.maskRatioMax = maskRatioMax
        self.normPixLoss = normPixLoss
        self.weightKernel = weightKernel
        self.weightEpsilon = weightEpsilon
        self.layerNormEpsilon = layerNormEpsilon
    }

    /// The CPU-scale preset of METHOD.md §11 (the defaults).
    public static let cpu = ModelConfig()

    /// The paper's ViT-B/16 recipe (METHOD.md §2.1, §6.1): 224 px, patch 16, encoder 768/12/12,
    /// decoder 512/8/16, smoothing kernel 9.
    public static let vitB16 = ModelConfig(
        imageSize: 224, patchSize: 16, encoderWidth: 768, encoderDepth: 12, encoderHeads: 12,
        decoderWidth: 512, decoderDepth: 8, decoderHeads: 16, weightKernel: 9)

    // MARK: - Derived sizes

    /// G = T / p, patches per side.
    public var gridSize: Int { imageSize / patchSize }
    /// L = G², patches per image.
    public var patchesPerImage: Int { gridSize * gridSize }
    /// P = p²·C, values per patch vector (order (p, q, c)).
    public var patchDimension: Int { patchSize * patchSize * channels }
    /// n_max = round((1 − mrMin)·L) (half to even): encoder tokens gathered per image.
    public var maxVisiblePatches: Int { roundHalfToEven((1 - maskRatioMin) * Double(patchesPerImage)) }
    /// n at IoU 1 = round((1 − mrMax)·L): the fewest visible patches an image can get.
    public var minVisiblePatches: Int { roundHalfToEven((1 - maskRatioMax) * Double(patchesPerImage)) }
    /// S = 1 + K·n_max, encoder sequence length (cls first).
    public var encoderSequenceLength: Int { 1 + imagesPerSample * maxVisiblePatches }
    /// Q = 1 + K·L, decoder sequence length (cls first).
    public var decoderSequenceLength: Int { 1 + imagesPerSample * patchesPerImage }
    /// (kernel − 1) / 2, the AvgPool padding that keeps the weight map T × T.
    public var weightPadding: Int { (weightKernel - 1) / 2 }
}

/// Rounds half to even, like `torch.round` and Python's `round`.
@inlinable
public func roundHalfToEven(_ value: Double) -> Int {
    Int(value.rounded(.toNearestOrEven))
}
