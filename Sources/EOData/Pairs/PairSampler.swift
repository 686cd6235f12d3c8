import Synchronization
import TensorCore

/// Geometry of one sample: what `PairSampler.sample` drew besides the pixels.
public struct SampleGeometry: Equatable, Sendable {
    /// Global sample position g.
    public var position: Int
    public var epoch: Int
    /// Index i within the epoch (the permuted slot).
    public var index: Int
    /// The anchor site.
    public var site: Site
    /// Raster of each image (anchor first).
    public var rasters: [Int]
    /// Each image's ground box in map units (y-up).
    public var mapBoxes: [Box]
    /// Boxes in the [0, 32]² pair frame (METHOD.md §1.4); K = 1: the full frame.
    public var boxes: [Box]
    /// Pair IoU (METHOD.md §1.5); 0 for K = 1 (so the dynamic mask ratio stays at its minimum).
    public var iou: Double
}

/// Produces sample g of the infinite sample sequence into a caller buffer, identically on any
/// thread, in any process, in any order (SYSTEM.md §4).
///
/// g → epoch e = g / siteCount, i = g % siteCount, site = perm_e[i]; every random choice of the
/// sample comes from `CounterRNG(seed).stream(e, i, purpose)`, one purpose word per use.
public final class PairSampler: Sendable {
    public let dataset: RasterDataset
    public let config: PairConfig
    public let sites: SiteIndex
    public let stats: ChannelStats
    private let permutations = Mutex<[Int: [Int32]]>([:])

    /// Images per sample K, channels C, tile side T.
    public var imagesPerSample: Int { config.imagesPerSample }
    public var channels: Int { dataset.bandCount }
    public var tileSize: Int { config.tileSize }
    /// Floats per sample: K·C·T·T.
    public var sampleCount: Int { imagesPerSample * channels * tileSize * tileSize }

    public init(dataset: RasterDataset, config: PairConfig, sites: SiteIndex, stats: ChannelStats) {
        precondition(stats.mean.count == dataset.bandCount, "PairSampler: stats for \(stats.mean.count) channels")
        precondition(sites.count > 0, "PairSampler: no sites")
        self.dataset = dataset
        self.config = config
        self.sites = sites
        self.stats = stats
    }

    /// Opens `sources`, indexes sites and estimates channel statistics (or uses `stats`).
    public convenience init(sources: [String], config: PairConfig, stats: ChannelStats? = nil,
                            statsWindowBudget: Int = 256) throws(EODataError) {
        try config.validate()
        let dataset = try RasterDataset(sources: sources)
        let readers = RasterReaders(dataset: dataset)
        let sites = try SiteIndex(dataset: dataset, config: config, readers: readers)
        let resolved: ChannelStats
        if let stats {
            resolved = stats
        } else {
            resolved = try ChannelStats(estimatingFrom: sites, dataset: dataset, config: config,
                                        readers: readers, windowBudget: statsWindowBudget)
        }
        guard resolved.mean.count == dataset.bandCount else {
            throw .invalidConfiguration("channel statistics have \(resolved.mean.count) channels, "
                                        + "the dataset has \(dataset.bandCount)")
        }
        self.init(dataset: dataset, config: config, sites: sites, stats: resolved)
    }

    /// The site order of epoch `epoch` (cached for the two most recent epochs).
    public func permutation(epoch: Int) -> [Int32] {
        if let cached = permutations.withLock({ $0[epoch] }) { return cached }
        let order = epochPermutation(seed: config.seed, epoch: epoch, count: sites.count)
        permutations.withLock { cache in
            if cache.count >= 2, let oldest = cache.keys.min() { cache[oldest] = nil }
            cache[epoch] = order
        }
        return order
    }

    /// The random stream of sample g for `purpose`, keyed exactly like the sampler's own draws:
    /// (seed; epoch, index within the epoch, purpose). Consumers outside the data pipeline (the model's
    /// masking) use it so that everything random about a sample follows from (seed, epoch, sample).
    public func randomStream(position: Int, purpose: RandomPurpose) -> RandomStream {
        precondition(position >= 0, "PairSampler: negative sample position \(position)")
        return CounterRNG(seed: config.seed)
            .stream(UInt32(position / sites.count), UInt32(position % sites.count), purpose.rawValue)
    }

    // MARK: - One sample

    /// Writes sample g into `output` ([K, C, T, T], normalised) using this thread's `readers`.
    public func sample(_ position: Int, into output: UnsafeMutableBufferPointer<Float>,
                       readers: RasterReaders) throws(EODataError) -> SampleGeometry {
        precondition(output.count == sampleCount, "PairSampler: buffer of \(output.count), needs \(sampleCount)")
        let (geometry, windows) = draw(position)
        let anchor = Int(geometry.site.raster)
        let plane = channels * tileSize * tileSize
        for (k, rasterIndex) in geometry.rasters.enumerated() {
            let raster = try readers.raster(rasterIndex)
            let source = rasterIndex == anchor ? windows[k] : raster.info.geoTransform.window(of: geometry.mapBoxes[k])
            let tile = UnsafeMutableBufferPointer(rebasing: output[(k * plane)..<((k + 1) * plane)])
            try raster.read(window: source, outputWidth: tileSize, outputHeight: tileSize,
                            resampling: config.resampling, into: tile)
            stats.normalise(tile, nodata: raster.info.nodata)
            if k == 1 {
                let rng = CounterRNG(seed: config.seed)
                let (epoch, index) = (UInt32(geometry.epoch), UInt32(geometry.index))
                var jitterStream = rng.stream(epoch, index, RandomPurpose.jitter.rawValue)
                var noiseStream = rng.stream(epoch, index, RandomPurpose.noise.rawValue)
                config.jitter.apply(to: tile, jitterStream: &jitterStream, noiseStream: &noiseStream)
            }
        }
        return geometry
    }

    /// Sample g's geometry (site, rasters, boxes, IoU) without reading any pixel: what `sample` returns.
    /// Cheap, so every worker can compute the whole step's masked-pixel count (the loss denominator).
    public func geometry(_ position: Int) -> SampleGeometry {
        draw(position).geometry
    }

    /// Every random draw of sample g except photometric jitter: geometry plus the anchor-raster window
    /// of each image.
    private func draw(_ position: Int) -> (geometry: SampleGeometry, windows: [PixelWindow]) {
        precondition(position >= 0, "PairSampler: negative sample position \(position)")
        let epoch = position / sites.count, index = position % sites.count
        let siteIndex = Int(permutation(epoch: epoch)[index])
        let site = sites.sites[siteIndex]
        let rng = CounterRNG(seed: config.seed)
        func stream(_ purpose: RandomPurpose) -> RandomStream {
            rng.stream(UInt32(epoch), UInt32(index), purpose.rawValue)
        }
        let anchor = dataset.rasters[Int(site.raster)]
        var shiftStream = stream(.siteShift)
        let origin = shiftedOrigin(site, anchor: anchor, stream: &shiftStream)
        var neighbourStream = stream(.neighbourRaster)
        let choices = sites.candidates[siteIndex]
        let neighbour = Int(choices[neighbourStream.nextInt(below: choices.count)])
        let rasters = imagesPerSample == 1 ? [Int(site.raster)] : [Int(site.raster), neighbour]
        var mapBoxes: [Box] = [], windows: [PixelWindow] = []
        for k in rasters.indices {
            var cropStream = stream(.crop(k))
            let size = Double(config.siteSize)
            let crop = config.crop.sample(height: size, width: size, stream: &cropStream)
            let window = PixelWindow(x: origin.x + crop.x, y: origin.y + crop.y, width: crop.width, height: crop.height)
            windows.append(window)
            mapBoxes.append(anchor.geoTransform.box(of: window))
        }
        let boxes = imagesPerSample == 1 ? [Box.fullFrame] : pairFrame(mapBoxes)
        let overlap = imagesPerSample == 1 ? 0 : iou(mapBoxes[0], mapBoxes[1])
        let geometry = SampleGeometry(position: position, epoch: epoch, index: index, site: site, rasters: rasters,
                                      mapBoxes: mapBoxes, boxes: boxes, iou: overlap)
        return (geometry, windows)
    }

    /// The site's top-left corner shifted by U(−m, m) per axis (m = config.maxSiteShift), kept inside the raster.
    func shiftedOrigin(_ site: Site, anchor: RasterInfo, stream: inout RandomStream) -> (x: Double, y: Double) {
        let margin = config.maxSiteShift
        let dx = stream.nextUniform(-margin, margin), dy = stream.nextUniform(-margin, margin)
        let maxX = Double(anchor.width - config.siteSize), maxY = Double(anchor.height - config.siteSize)
        return (min(max(0, Double(site.x) + dx), maxX), min(max(0, Double(site.y) + dy), maxY))
    }
}
