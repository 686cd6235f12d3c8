import Foundation
import TensorCore

/// Weight formats `export` can write.
public enum ExportFormat: String, CaseIterable, Sendable {
    /// safetensors under timm `VisionTransformer` names (the only one so far).
    case safetensors
}

/// What an export wrote, for the command's summary.
public struct ExportReport: Sendable {
    public let output: URL
    public let tensorCount: Int
    public let parameterCount: Int
    /// Our parameters left out (mask token, decoder).
    public let dropped: [String]
    /// Tiles in reference.safetensors (0: none written).
    public let referenceTiles: Int
}

/// Writes a run's frozen encoder as a folder timm/PyTorch can load (METHOD.md §3 "single-image use"):
///   model.safetensors      timm VisionTransformer state dict (`TimmStateDict`), metadata format "pt"
///   config.json            `ExportConfig`: timm model_args, LayerNorm eps, input normalisation, source
///   reference.safetensors  images [N, C, T, T] (normalised tiles) and our features [N, 1 + L, D] of them
/// The folder appears atomically (`ExportDirectory`).
public enum EncoderExport {
    public static let modelFile = "model.safetensors"
    public static let configFile = "config.json"
    public static let referenceFile = "reference.safetensors"

    @discardableResult
    public static func write(_ encoder: PretrainedEncoder, reference: ReferenceTiles?, to url: URL,
                             force: Bool = false, pool: ThreadPool? = nil) throws(ExportError) -> ExportReport {
        let model = encoder.config.model
        guard encoder.stats.mean.count == model.channels, encoder.stats.std.count == model.channels else {
            throw .statistics("\(encoder.stats.mean.count) channels of statistics for a \(model.channels)-channel "
                              + "model")
        }
        try ExportDirectory.checkWritable(url, force: force)
        let stateDict = TimmStateDict(model: encoder.model, arena: encoder.arena)
        let args = TimmModelArgs(model)
        let config = ExportConfig(
            modelArgs: args, layerNormEps: model.layerNormEpsilon, stats: encoder.stats,
            source: .init(checkpoint: encoder.origin, step: encoder.step, rasters: encoder.config.sources,
                          seed: encoder.config.seed),
            files: .init(model: modelFile, reference: reference == nil ? nil : referenceFile))
        var metadata = [
            "format": "pt",                                  // what safetensors' torch loader expects
            "source_checkpoint": encoder.origin,
            "step": String(encoder.step),
            "model_args": compactJSON(args),
            "layer_norm_eps": String(config.layerNormEps),
            "channel_mean": compactJSON(encoder.stats.mean),
            "channel_std": compactJSON(encoder.stats.std),
            "normalisation": "per channel (raw - channel_mean) / channel_std on RAW raster values; see config.json",
        ]
        var files = [(name: modelFile, data: SafeTensors.encode(stateDict.items, metadata: metadata)),
                     (name: configFile, data: config.jsonData())]
        if let reference {
            let expected = [model.channels, model.imageSize, model.imageSize]
            precondition(Array(reference.images.shape.dropFirst()) == expected,
                         "EncoderExport: reference images \(reference.images.shape), expected [N] + \(expected)")
            let features = encoder.encode(reference.images, pool: pool)               // [N, 1 + L, D]
            metadata["images"] = reference.origin
            metadata["features"] = "our encoder's output for images: [N, 1 + L, D] after the final LayerNorm, "
                + "row 0 = cls (timm forward_features)"
            let items = [SafeTensors.Item(name: "images", shape: reference.images.shape,
                                          values: reference.images.scalars),
                         SafeTensors.Item(name: "features", shape: features.shape, values: features.scalars)]
            files.append((name: referenceFile, data: SafeTensors.encode(items, metadata: metadata)))
        }
        try ExportDirectory.commit(files, to: url, force: force)
        return ExportReport(output: url, tensorCount: stateDict.items.count, parameterCount: stateDict.parameterCount,
                            dropped: stateDict.dropped, referenceTiles: reference?.images.shape[0] ?? 0)
    }

    /// One-line JSON of a Codable value, for safetensors metadata (whose values must be strings).
    static func compactJSON<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(value), as: UTF8.self)  // plain values: cannot fail
    }
}
