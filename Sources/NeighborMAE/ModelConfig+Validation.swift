/// A `ModelConfig` value the model cannot be built from.
///
/// `description` names the field, says why, and ends with a `hint:` saying what to change.
public struct ModelConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The offending field (or fields, e.g. "imageSize/patchSize").
    public let field: String
    public let reason: String
    public let hint: String

    public init(field: String, reason: String, hint: String) {
        self.field = field
        self.reason = reason
        self.hint = hint
    }

    public var description: String { "[model] config.\(field): \(reason); hint: \(hint)" }
}

extension ModelConfig {
    /// Checks every constraint the model, position embedding, masking and loss rely on;
    /// throws the first violation found.
    public func validate() throws(ModelConfigError) {
        try validateImageGeometry()
        try validateWidth(encoderWidth, heads: encoderHeads, depth: encoderDepth, part: "encoder")
        try validateWidth(decoderWidth, heads: decoderHeads, depth: decoderDepth, part: "decoder")
        try check(mlpRatio >= 1, "mlpRatio", "is \(mlpRatio), must be >= 1", "use 4 (the paper's value)")
        try validateMasking()
        try validateLoss()
    }

    private func validateImageGeometry() throws(ModelConfigError) {
        try check(imageSize > 0 && patchSize > 0, "imageSize/patchSize",
                  "must be positive (got \(imageSize), \(patchSize))", "e.g. imageSize 64, patchSize 8")
        try check(imageSize % patchSize == 0, "imageSize/patchSize",
                  "tile side \(imageSize) is not a multiple of patch side \(patchSize)",
                  "pick a tile side divisible by the patch side, e.g. 64 with patch 8 or 224 with patch 16")
        try check(channels >= 1, "channels", "is \(channels), must be >= 1", "set it to the raster's band count")
        try check(imagesPerSample == 1 || imagesPerSample == 2, "imagesPerSample",
                  "is \(imagesPerSample); only 2 (neighbour pairs) and 1 (MAE baseline) are supported",
                  "use 2 for NeighborMAE, 1 for the single-image baseline")
    }

    private func validateWidth(_ width: Int, heads: Int, depth: Int, part: String) throws(ModelConfigError) {
        try check(depth >= 1, "\(part)Depth", "is \(depth), must be >= 1", "use at least one block")
        try check(heads >= 1, "\(part)Heads", "is \(heads), must be >= 1", "use at least one head")
        try check(width >= 16 && width % 8 == 0, "\(part)Width",
                  "is \(width); the four-edge sin-cos embedding needs a multiple of 8 that is >= 16 "
                      + "(width/8 >= 2 frequencies per coordinate)",
                  "round it to a multiple of 8, e.g. \(max(16, (width + 7) / 8 * 8))")
        try check(width % heads == 0, "\(part)Width/\(part)Heads",
                  "width \(width) is not divisible by \(heads) heads",
                  "choose heads dividing the width (e.g. width 192 with 3 heads, 768 with 12)")
    }

    private func validateMasking() throws(ModelConfigError) {
        try check(maskRatioMin >= 0 && maskRatioMin <= maskRatioMax && maskRatioMax < 1,
                  "maskRatioMin/maskRatioMax",
                  "need 0 <= min <= max < 1, got \(maskRatioMin), \(maskRatioMax)",
                  "use 0.75 and 0.85 (README recipe), or equal values to turn the IoU-dependent ratio off")
        try check(minVisiblePatches >= 1, "maskRatioMax",
                  "leaves round((1 - \(maskRatioMax)) * \(patchesPerImage)) = 0 visible patches at IoU 1",
                  "lower maskRatioMax or use more patches per image")
    }

    private func validateLoss() throws(ModelConfigError) {
        try check(weightKernel >= 1 && weightKernel % 2 == 1 && weightKernel <= imageSize, "weightKernel",
                  "is \(weightKernel); must be odd, >= 1 and <= the tile side \(imageSize)",
                  "use about 0.6 patch: 5 for patch 8, 9 for patch 16")
        try check(weightEpsilon.isFinite && weightEpsilon >= 0, "weightEpsilon",
                  "is \(weightEpsilon); must be finite and >= 0", "use 1e-8")
        try check(layerNormEpsilon.isFinite && layerNormEpsilon > 0, "layerNormEpsilon",
                  "is \(layerNormEpsilon); must be finite and > 0", "use 1e-6 (the paper's value)")
        try check(!normPixLoss || channels * patchSize * patchSize >= 2, "normPixLoss",
                  "needs at least 2 values per patch for an unbiased variance (C·p² = \(patchDimension))",
                  "turn normPixLoss off or use a larger patch")
    }

    private func check(_ condition: Bool, _ field: String, _ reason: String,
                       _ hint: String) throws(ModelConfigError) {
        if !condition { throw ModelConfigError(field: field, reason: reason, hint: hint) }
    }
}
