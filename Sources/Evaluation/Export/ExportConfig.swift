import EOData
import Foundation

/// `config.json` of an export: how to build the timm model, what its inputs must look like, and where
/// the weights came from. Written beside `model.safetensors`; `scripts/check_export.py` reads it.
public struct ExportConfig: Codable, Equatable, Sendable {
    /// Bumped when a key changes meaning.
    public static let currentFormatVersion = 1

    public var format = "neighbormae-timm-export"
    public var formatVersion = ExportConfig.currentFormatVersion
    public var timmClass = "timm.models.vision_transformer.VisionTransformer"
    public var modelArgs: TimmModelArgs
    /// Pass as `norm_layer=partial(torch.nn.LayerNorm, eps=layer_norm_eps)`.
    public var layerNormEps: Double
    public var input: Input
    public var features = "forward_features(x) -> [N, 1 + L, D] after the final LayerNorm: row 0 is the cls "
        + "token (global_pool 'token'), rows 1... the patches in raster order; forward(x) -> [N, D] the cls row"
    public var source: Source
    /// File names in the folder; `reference` is nil when no reference tiles were written.
    public var files: Files

    /// What the network expects: [N, C, T, T] float32, each channel normalised with the run's statistics.
    public struct Input: Codable, Equatable, Sendable {
        public var shape: [Int]
        /// Per-channel mean and std of the RAW raster values (whatever units the rasters hold).
        public var mean: [Double]
        public var std: [Double]
        public var normalisation = "x[c] = (raw[c] - mean[c]) / std[c] on RAW raster values per channel, with "
            + "nodata and NaN pixels set to 0 afterwards. This is NOT timm's convention (pixels scaled to 0..1, "
            + "then ImageNet mean/std): do not use timm's data config or ToTensor on these inputs."

        enum CodingKeys: String, CodingKey { case shape, mean, std, normalisation }
    }

    public struct Source: Codable, Equatable, Sendable {
        public var checkpoint: String
        public var step: Int
        public var rasters: [String]
        public var seed: UInt64
    }

    public struct Files: Codable, Equatable, Sendable {
        public var model: String
        public var reference: String?
    }

    public init(modelArgs: TimmModelArgs, layerNormEps: Float, stats: ChannelStats, source: Source, files: Files) {
        self.modelArgs = modelArgs
        // Through the shortest decimal form, so 1e-6 (Float) is written 1e-06 and not 9.99999997e-07.
        self.layerNormEps = Double(layerNormEps.description) ?? Double(layerNormEps)
        input = Input(shape: [modelArgs.inChans, modelArgs.imgSize, modelArgs.imgSize], mean: stats.mean,
                      std: stats.std)
        self.source = source
        self.files = files
    }

    enum CodingKeys: String, CodingKey {
        case format, formatVersion = "format_version", timmClass = "timm_class", modelArgs = "model_args"
        case layerNormEps = "layer_norm_eps", input, features, source, files
    }

    /// Pretty-printed JSON with sorted keys (stable across exports of the same checkpoint).
    public func jsonData() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try! encoder.encode(self)  // plain Codable values: encoding cannot fail
    }
}
