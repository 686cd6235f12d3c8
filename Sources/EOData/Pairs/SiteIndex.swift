import TensorCore

/// One anchor site: a siteSize² window of one raster at pixel (x, y) (top-left corner).
public struct Site: Codable, Equatable, Hashable, Sendable {
    public var raster: Int32
    public var x: Int32
    public var y: Int32
}

/// Every site of a dataset that passes the nodata filter, and the rasters each can take its
/// neighbour from (members of the anchor's co-registered group whose footprint contains the site,
/// widened by the largest site shift; always including the anchor raster itself).
public struct SiteIndex: Sendable {
    /// Pixel side of the nodata probe read per site (nearest-neighbour, all bands).
    public static let probeSize = 32

    public let sites: [Site]
    /// For each site, the raster indices its neighbour crop may come from.
    public let candidates: [[Int32]]

    public var count: Int { sites.count }

    /// Builds the grid of every raster, probes each site once for nodata, and keeps the valid ones.
    /// Throws `.rasterSmallerThanSite` or `.noValidSites` naming the first raster at fault.
    public init(dataset: RasterDataset, config: PairConfig, readers: RasterReaders) throws(EODataError) {
        try config.validate()
        var sites: [Site] = []
        var candidates: [[Int32]] = []
        for (index, info) in dataset.rasters.enumerated() {
            guard info.width >= config.siteSize, info.height >= config.siteSize else {
                throw .rasterSmallerThanSite(path: info.path, width: info.width, height: info.height,
                                             siteSize: config.siteSize)
            }
            let raster = try readers.raster(index)
            let xs = Self.gridPositions(length: info.width, site: config.siteSize, stride: config.stride)
            let ys = Self.gridPositions(length: info.height, site: config.siteSize, stride: config.stride)
            let own = [Int32(index)]
            let groupMembers = dataset.groups[dataset.groupOfRaster[index]]
            var kept = 0
            for y in ys {
                for x in xs {
                    let fraction = try Self.nodataFraction(raster, x: x, y: y, size: config.siteSize)
                    guard fraction <= config.maxNodataFraction else { continue }
                    sites.append(Site(raster: Int32(index), x: Int32(x), y: Int32(y)))
                    candidates.append(groupMembers.count == 1 ? own
                        : Self.neighbourRasters(dataset, anchor: index, x: x, y: y, config: config))
                    kept += 1
                }
            }
            guard kept > 0 else {
                throw .noValidSites(path: info.path, siteCount: xs.count * ys.count,
                                    maxNodataFraction: config.maxNodataFraction)
            }
        }
        self.sites = sites
        self.candidates = candidates
    }

    /// Grid starts 0, stride, 2·stride, ... that fit, plus an end-aligned start if the grid
    /// leaves a margin, so every pixel is covered.
    public static func gridPositions(length: Int, site: Int, stride: Int) -> [Int] {
        guard length >= site else { return [] }
        var positions = Array(Swift.stride(from: 0, through: length - site, by: stride))
        if positions.last! != length - site { positions.append(length - site) }
        return positions
    }

    /// Fraction of probe pixels where any band is nodata (its nodata value, or NaN).
    static func nodataFraction(_ raster: Raster, x: Int, y: Int, size: Int) throws(EODataError) -> Double {
        let probe = min(probeSize, size)
        let window = PixelWindow(x: Double(x), y: Double(y), width: Double(size), height: Double(size))
        let values = try raster.read(window: window, outputWidth: probe, outputHeight: probe, resampling: .nearest)
        let plane = probe * probe
        var invalid = 0
        for pixel in 0..<plane {
            for band in 0..<raster.info.bandCount
            where Raster.isNodata(values[band * plane + pixel], nodata: raster.info.nodata[band]) {
                invalid += 1
                break
            }
        }
        return Double(invalid) / Double(plane)
    }

    /// Group members whose footprint contains the anchor site widened by the largest shift.
    static func neighbourRasters(_ dataset: RasterDataset, anchor: Int, x: Int, y: Int,
                                 config: PairConfig) -> [Int32] {
        let info = dataset.rasters[anchor]
        let margin = config.maxSiteShift
        let x0 = max(0, Double(x) - margin), y0 = max(0, Double(y) - margin)
        let x1 = min(Double(info.width), Double(x + config.siteSize) + margin)
        let y1 = min(Double(info.height), Double(y + config.siteSize) + margin)
        let ground = info.geoTransform.box(of: PixelWindow(x: x0, y: y0, width: x1 - x0, height: y1 - y0))
        var result: [Int32] = []
        for member in dataset.groups[dataset.groupOfRaster[anchor]] {
            if member == anchor { result.append(Int32(member)); continue }
            let other = dataset.rasters[member]
            if other.geoTransform.window(of: ground).isInside(width: other.width, height: other.height) {
                result.append(Int32(member))
            }
        }
        return result
    }
}
