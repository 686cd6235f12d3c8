import Foundation
import TensorCore

/// Per-channel mean and standard deviation of the raw pixel values of a dataset, estimated once
/// from a bounded, seeded sample of site windows, and saved with the run (JSON).
public struct ChannelStats: Codable, Equatable, Sendable {
    public var mean: [Double]
    public var std: [Double]
    /// Valid (non-nodata) pixels per channel that entered the estimate.
    public var pixelCount: [Int]
    /// Site windows read.
    public var windowCount: Int

    public init(mean: [Double], std: [Double], pixelCount: [Int], windowCount: Int) {
        precondition(mean.count == std.count && mean.count == pixelCount.count, "ChannelStats: channel counts differ")
        self.mean = mean
        self.std = std
        self.pixelCount = pixelCount
        self.windowCount = windowCount
    }

    /// Estimates the statistics from `windowBudget` site windows drawn (with replacement) by
    /// `CounterRNG(seed).stream(0, 0, .statistics)`, each read at tileSize² with the config's
    /// resampling. Deterministic for (dataset, config, seed, budget). A channel with no spread gets std 1.
    public init(estimatingFrom sites: SiteIndex, dataset: RasterDataset, config: PairConfig,
                readers: RasterReaders, windowBudget: Int = 256) throws(EODataError) {
        precondition(sites.count > 0 && windowBudget > 0, "ChannelStats: nothing to sample")
        let channels = dataset.bandCount
        let side = config.tileSize, plane = side * side
        var sum = [Double](repeating: 0, count: channels)
        var squares = [Double](repeating: 0, count: channels)
        var counts = [Int](repeating: 0, count: channels)
        var stream = CounterRNG(seed: config.seed).stream(0, 0, RandomPurpose.statistics.rawValue)
        var values = [Float](repeating: 0, count: channels * plane)
        for _ in 0..<windowBudget {
            let site = sites.sites[stream.nextInt(below: sites.count)]
            let raster = try readers.raster(Int(site.raster))
            let size = Double(config.siteSize)
            try values.withUnsafeMutableBufferPointer { (buffer) throws(EODataError) in
                try raster.read(window: PixelWindow(x: Double(site.x), y: Double(site.y), width: size, height: size),
                                outputWidth: side, outputHeight: side, resampling: config.resampling, into: buffer)
            }
            for c in 0..<channels {
                let nodata = raster.info.nodata[c]
                for value in values[(c * plane)..<((c + 1) * plane)] where !Raster.isNodata(value, nodata: nodata) {
                    sum[c] += Double(value)
                    squares[c] += Double(value) * Double(value)
                    counts[c] += 1
                }
            }
        }
        var mean = [Double](repeating: 0, count: channels), std = [Double](repeating: 1, count: channels)
        for c in 0..<channels where counts[c] > 0 {
            mean[c] = sum[c] / Double(counts[c])
            let variance = max(0, squares[c] / Double(counts[c]) - mean[c] * mean[c])
            let spread = variance.squareRoot()
            std[c] = spread > 1e-6 * max(1, abs(mean[c])) ? spread : 1
        }
        self.init(mean: mean, std: std, pixelCount: counts, windowCount: windowBudget)
    }

    /// (x − mean_c) / std_c in place over a tile [C, plane]; nodata pixels (the band's nodata value, or
    /// NaN) become 0, the channel mean. The one normalisation of training crops and probe tiles alike.
    public func normalise(_ tile: UnsafeMutableBufferPointer<Float>, nodata: [Double?]) {
        let channels = mean.count, plane = tile.count / max(1, channels)
        precondition(tile.count == channels * plane && nodata.count == channels,
                     "ChannelStats.normalise: \(tile.count) values, \(nodata.count) nodata entries for "
                        + "\(channels) channels")
        for c in 0..<channels {
            let mean = Float(self.mean[c]), scale = Float(1 / std[c])
            let base = c * plane
            if let value = nodata[c] {
                let marker = Float(value)
                for p in base..<(base + plane) {
                    let x = tile[p]
                    tile[p] = (x.isNaN || x == marker) ? 0 : (x - mean) * scale
                }
            } else {
                for p in base..<(base + plane) {
                    let x = tile[p]
                    tile[p] = x.isNaN ? 0 : (x - mean) * scale
                }
            }
        }
    }

    /// Pretty-printed JSON (sorted keys), for the run directory.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Decodes statistics saved by `jsonData()`.
    public init(jsonData data: Data) throws {
        self = try JSONDecoder().decode(ChannelStats.self, from: data)
    }
}
