/// How pairs are cut from a dataset. Defaults are the CPU-scale preset (METHOD.md §10–§11).
public struct PairConfig: Codable, Equatable, Sendable {
    /// Output tile side T (pixels); every crop is resampled to T × T.
    public var tileSize = 64
    /// Side of an anchor site window in source pixels (the analogue of one fMoW image).
    public var siteSize = 256
    /// Step of the site grid in source pixels (nil: siteSize / 2).
    public var siteStride: Int? = nil
    /// A site with more than this fraction of nodata pixels is dropped (once, when indexing).
    public var maxNodataFraction = 0.5
    /// Images per sample K: 2 = anchor + neighbour (NeighborMAE), 1 = single crop (MAE baseline).
    public var imagesPerSample = 2
    /// Resampling of crop windows to tiles.
    public var resampling: Resampling = .bilinear
    /// Random shift of a site per sample, as a fraction of half the stride (0 = fixed grid).
    public var siteJitter = 0.5
    /// The crop recipe of METHOD.md §1.2.
    public var crop = CropRecipe()
    /// Photometric perturbation of the neighbour (METHOD.md §10).
    public var jitter = PhotometricJitter()
    /// Seed of every random choice (epoch permutation, crops, neighbour raster, jitter).
    public var seed: UInt64 = 0

    public init() {}

    /// The site grid step actually used.
    public var stride: Int { siteStride ?? max(1, siteSize / 2) }

    /// Largest site shift in pixels per axis.
    public var maxSiteShift: Double { siteJitter * Double(stride) / 2 }

    /// Throws `.invalidConfiguration` naming the first bad value.
    public func validate() throws(EODataError) {
        if tileSize < 1 { throw .invalidConfiguration("tileSize \(tileSize) must be >= 1") }
        if siteSize < 1 { throw .invalidConfiguration("siteSize \(siteSize) must be >= 1") }
        if stride < 1 { throw .invalidConfiguration("siteStride \(stride) must be >= 1") }
        if !(0...1).contains(maxNodataFraction) {
            throw .invalidConfiguration("maxNodataFraction \(maxNodataFraction) must be in [0, 1]")
        }
        if imagesPerSample != 1 && imagesPerSample != 2 {
            throw .invalidConfiguration("imagesPerSample \(imagesPerSample) must be 1 or 2")
        }
        if !(0...1).contains(siteJitter) { throw .invalidConfiguration("siteJitter \(siteJitter) must be in [0, 1]") }
        if !(crop.minAspect > 0 && crop.minAspect <= crop.maxAspect && crop.minArea > 0
             && crop.minArea <= crop.maxArea && crop.maxArea <= 1) {
            throw .invalidConfiguration("crop recipe \(crop) needs 0 < minAspect <= maxAspect, "
                                        + "0 < minArea <= maxArea <= 1")
        }
        try jitter.validate()
    }
}

/// Purpose words: the third counter word of every random stream, one per use (SYSTEM.md §4).
public enum RandomPurpose: UInt32, Sendable {
    case permutation = 0x5045_524D      // "PERM"
    case siteShift = 0x5349_5445        // "SITE"
    case crop0 = 0x4352_5030            // "CRP0"
    case crop1 = 0x4352_5031            // "CRP1"
    case neighbourRaster = 0x4E42_5252  // "NBRR"
    case jitter = 0x4A49_5454           // "JITT"
    case noise = 0x4E4F_4953            // "NOIS"
    case statistics = 0x5354_4154       // "STAT"
    case mask = 0x4D41_534B             // "MASK": the model's random masking of sample g

    /// Purpose word of crop k.
    static func crop(_ k: Int) -> RandomPurpose { k == 0 ? .crop0 : .crop1 }
}
