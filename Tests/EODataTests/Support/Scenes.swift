import EOData
import Foundation
import Testing

/// A fresh temporary folder, removed when the value is released.
final class TempFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("eodata-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// Small synthetic GeoTIFFs written through GDAL.
enum Scenes {
    /// North-up geotransform (GDAL's six coefficients).
    static func northUp(x: Double, y: Double, pixel: Double) -> [Double] { [x, pixel, 0, y, 0, -pixel] }

    /// A raster whose band b value at (row, col) is `value(b, row, col)`.
    @discardableResult
    static func write(_ path: String, width: Int, height: Int, bands: Int, type: RasterDataType = .float32,
                      geoTransform: [Double]? = northUp(x: 0, y: 0, pixel: 1), epsg: Int? = 4326,
                      nodata: Double? = nil, value: (Int, Int, Int) -> Float) throws -> String {
        var values = [Float](repeating: 0, count: bands * width * height)
        for b in 0..<bands {
            for row in 0..<height {
                for col in 0..<width { values[(b * height + row) * width + col] = value(b, row, col) }
            }
        }
        try RasterWriter.writeGeoTIFF(path: path, width: width, height: height, bandCount: bands, values: values,
                                      dataType: type, geoTransform: geoTransform, epsg: epsg, nodata: nodata)
        return path
    }

    /// A deterministic pseudo-random texture in [0, 255] (integer-valued, so every type stores it exactly).
    static func texture(_ b: Int, _ row: Int, _ col: Int) -> Float {
        var h = UInt32(truncatingIfNeeded: b &* 73_856_093 ^ row &* 19_349_663 ^ col &* 83_492_791)
        h ^= h >> 13
        h = h &* 0x5bd1_e995
        h ^= h >> 15
        return Float(h % 256)
    }
}

/// Sample-independent config for small synthetic scenes.
func smallConfig(site: Int = 64, tile: Int = 16, seed: UInt64 = 7) -> PairConfig {
    var config = PairConfig()
    config.siteSize = site
    config.tileSize = tile
    config.seed = seed
    return config
}

/// Unit statistics: tiles keep raw values.
func identityStats(channels: Int) -> ChannelStats {
    ChannelStats(mean: .init(repeating: 0, count: channels), std: .init(repeating: 1, count: channels),
                 pixelCount: .init(repeating: 0, count: channels), windowCount: 0)
}

/// The sample's tile [K, C, T, T] and geometry.
func draw(_ sampler: PairSampler, _ position: Int, readers: RasterReaders) throws -> ([Float], SampleGeometry) {
    var tile = [Float](repeating: .nan, count: sampler.sampleCount)
    let geometry = try tile.withUnsafeMutableBufferPointer { buffer in
        try sampler.sample(position, into: buffer, readers: readers)
    }
    return (tile, geometry)
}

/// Bit patterns, for bitwise comparisons that also treat NaN payloads exactly.
func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
