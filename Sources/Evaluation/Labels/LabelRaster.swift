import EOData
import Foundation

/// Labels tiles from a raster aligned with the imagery (same CRS; any resolution): each tile's ground
/// box is looked up in the label raster, its pixels there are read at the label raster's own
/// resolution, and `rule` turns them into a class.
public struct LabelRaster: Sendable {
    public let path: String
    public let rule: LabelRule
    /// 1-based band; nil = band 1 for `.majority`, the mean over all bands for continuous rules.
    public let band: Int?
    /// A tile needs at least this fraction of valid (non-nodata) label pixels.
    public let minimumValidFraction: Double

    static let integerTypes: Set<String> = ["Byte", "Int8", "UInt16", "Int16", "UInt32", "Int32"]
    static let maximumClasses = 64

    public init(path: String, rule: LabelRule, band: Int? = nil, minimumValidFraction: Double = 0.5) {
        self.path = path
        self.rule = rule
        self.band = band
        self.minimumValidFraction = minimumValidFraction
    }

    /// Labels every window of `candidates` (tiles of `dataset`'s rasters). Windows whose ground box leaves
    /// the label raster, or with too few valid label pixels, are skipped and counted by reason.
    public func label(_ candidates: [(raster: Int, window: PixelWindow)],
                      dataset: RasterDataset) throws -> LabelledTiles {
        let labels = try Raster(path: path)
        let info = labels.info
        if let band, !(1...info.bandCount).contains(band) {
            throw EvaluationError.labels("\(path) has \(info.bandCount) band(s); --label-band \(band) does not exist")
        }
        if rule == .majority {
            guard Self.integerTypes.contains(info.dataType), info.bandCount == 1 || band != nil else {
                throw EvaluationError.labels("\(path) (\(info.bandCount) band(s) of \(info.dataType)) does not look "
                    + "like a class raster; hint: --label-rule thresholds:T1,T2 or quantiles:N for continuous values, "
                    + "--label-band N to take classes from one band")
            }
        }
        for raster in Set(candidates.map(\.raster)) { try checkAligned(dataset.rasters[raster], info) }
        var values: [Double] = [], kept: [(raster: Int, window: PixelWindow)] = []
        var skipped: [String: Int] = [:]
        for candidate in candidates {
            let box = dataset.rasters[candidate.raster].geoTransform.box(of: candidate.window)
            let window = info.geoTransform.window(of: box)
            guard window.isInside(width: info.width, height: info.height, slack: 0.5) else {
                skipped["outside the label raster", default: 0] += 1
                continue
            }
            guard let value = try tileValue(labels, clamped(window, info)) else {
                skipped["less than \(Int(minimumValidFraction * 100)) % valid label pixels", default: 0] += 1
                continue
            }
            values.append(value)
            kept.append(candidate)
        }
        guard !kept.isEmpty else {
            throw EvaluationError.labels("no tile of the imagery has labels in \(path) "
                                         + "(skipped: \(skipped)); hint: is the label raster aligned with the imagery?")
        }
        let (classes, names) = rule.classes(of: values)
        guard names.count <= Self.maximumClasses else {
            throw EvaluationError.labels("\(path) gives \(names.count) classes (at most \(Self.maximumClasses)); hint: "
                                         + "for continuous values use --label-rule thresholds:T1,T2 or quantiles:N")
        }
        let tiles = zip(kept, classes).map { LabelledTile(raster: $0.raster, window: $0.window, label: $1) }
        return LabelledTiles(tiles: tiles, classNames: names, skipped: skipped)
    }

    /// Imagery and labels must share a CRS when both are georeferenced; two rasters without
    /// georeferencing are compared in pixels.
    func checkAligned(_ imagery: RasterInfo, _ labels: RasterInfo) throws {
        guard imagery.isGeoreferenced == labels.isGeoreferenced else {
            throw EvaluationError.labels("\(path) and \(imagery.path): one is georeferenced, the other is not")
        }
        if imagery.isGeoreferenced && !CoordinateSystem.isSame(imagery.crsWKT, labels.crsWKT) {
            throw EvaluationError.labels("\(path) is not in the CRS of \(imagery.path); hint: gdalwarp -t_srs it first")
        }
    }

    /// The window rounded out to whole label pixels and kept inside the raster.
    func clamped(_ window: PixelWindow, _ info: RasterInfo) -> PixelWindow {
        let x0 = max(0, (window.x + 1e-6).rounded(.down)), y0 = max(0, (window.y + 1e-6).rounded(.down))
        let x1 = min(Double(info.width), max(x0 + 1, (window.x + window.width - 1e-6).rounded(.up)))
        let y1 = min(Double(info.height), max(y0 + 1, (window.y + window.height - 1e-6).rounded(.up)))
        return PixelWindow(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    /// The tile's majority value or mean (nil: too few valid pixels). window: whole label pixels.
    func tileValue(_ labels: Raster, _ window: PixelWindow) throws -> Double? {
        let info = labels.info, width = Int(window.width), height = Int(window.height), plane = width * height
        let pixels = try labels.read(window: window, outputWidth: width, outputHeight: height, resampling: .nearest)
        let bands = band.map { [$0 - 1] } ?? (rule == .majority ? [0] : Array(0..<info.bandCount))
        var sum = 0.0, valid = 0
        var counts: [Double: Int] = [:]
        for p in 0..<plane {
            var total = 0.0, ok = true
            for b in bands {
                let value = pixels[b * plane + p]
                if Raster.isNodata(value, nodata: info.nodata[b]) { ok = false; break }
                total += Double(value)
            }
            guard ok else { continue }
            valid += 1
            if rule == .majority {
                counts[total.rounded(), default: 0] += 1
            } else {
                sum += total / Double(bands.count)
            }
        }
        guard valid > 0, Double(valid) >= minimumValidFraction * Double(plane) else { return nil }
        if rule == .majority {
            return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }!.key
        }
        return sum / Double(valid)
    }
}
