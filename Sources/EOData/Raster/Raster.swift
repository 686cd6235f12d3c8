import CGDAL
import Foundation

/// Resampling used when a source window is read into a differently sized tile.
public enum Resampling: String, Codable, Sendable, CaseIterable {
    case nearest, bilinear, cubic, average

    var gdal: GDALRIOResampleAlg {
        switch self {
        case .nearest: return GRIORA_NearestNeighbour
        case .bilinear: return GRIORA_Bilinear
        case .cubic: return GRIORA_Cubic
        case .average: return GRIORA_Average
        }
    }
}

/// What a raster is, without its pixels: enough to plan sites and pairs on any thread.
public struct RasterInfo: Codable, Equatable, Sendable {
    public var path: String
    public var width: Int
    public var height: Int
    public var bandCount: Int
    /// GDAL's name of band 1's data type ("Byte", "UInt16", "Float32", ...).
    public var dataType: String
    public var geoTransform: GeoTransform
    /// False when the file carries no geotransform; then `geoTransform` is `.pixelFrame`.
    public var isGeoreferenced: Bool
    /// The CRS as WKT ("" when unknown).
    public var crsWKT: String
    /// Per-band nodata value (nil: the band has none; NaN pixels are always nodata).
    public var nodata: [Double?]

    /// The raster's ground footprint in map units (y-up).
    public var footprint: Box {
        geoTransform.box(of: PixelWindow(x: 0, y: 0, width: Double(width), height: Double(height)))
    }
}

/// One open GDAL dataset: a single-owner handle, closed in `deinit`.
///
/// Not `Sendable` on purpose: GDAL dataset handles must not be used by two threads at once, so
/// every thread opens its own `Raster` (see `RasterReaders`). Reads are windowed; a file is never
/// loaded whole.
public final class Raster {
    public let info: RasterInfo
    private let handle: GDALDatasetH

    /// Opens any raster GDAL reads (GeoTIFF/COG, JPEG 2000, PNG/JPEG with world file, VRT, ...).
    /// GDAL virtual paths (`/vsizip/...`, `/vsicurl/...`) skip the file-existence check.
    public init(path: String) throws(EODataError) {
        GDALRuntime.ensureRegistered()
        guard path.hasPrefix("/vsi") || FileManager.default.fileExists(atPath: path) else {
            throw .missingFile(path: path)
        }
        GDALRuntime.resetError()
        guard let handle = GDALOpenEx(path, UInt32(GDAL_OF_RASTER | GDAL_OF_READONLY), nil, nil, nil) else {
            throw .unreadable(path: path, reason: GDALRuntime.lastError(fallback: "unrecognised format"))
        }
        do {
            info = try Self.describe(handle, path: path)
        } catch {
            GDALClose(handle)
            throw error
        }
        self.handle = handle
    }

    deinit {
        GDALClose(handle)
    }

    private static func describe(_ handle: GDALDatasetH, path: String) throws(EODataError) -> RasterInfo {
        let width = Int(GDALGetRasterXSize(handle)), height = Int(GDALGetRasterYSize(handle))
        let bandCount = Int(GDALGetRasterCount(handle))
        guard bandCount > 0, width > 0, height > 0 else {
            throw .unreadable(path: path, reason: "no raster bands")
        }
        var coefficients = [Double](repeating: 0, count: 6)
        let hasTransform = GDALGetGeoTransform(handle, &coefficients) == CE_None
        var transform = GeoTransform.pixelFrame
        if hasTransform {
            guard let parsed = GeoTransform(gdal: coefficients) else {
                throw .unsupportedGeoTransform(path: path, geoTransform: coefficients)
            }
            transform = parsed
        }
        var nodata: [Double?] = []
        for band in 1...bandCount {
            var hasNodata: Int32 = 0
            let value = GDALGetRasterNoDataValue(GDALGetRasterBand(handle, Int32(band)), &hasNodata)
            nodata.append(hasNodata != 0 ? value : nil)
        }
        let typeName = GDALGetDataTypeName(GDALGetRasterDataType(GDALGetRasterBand(handle, 1)))
        let wkt = GDALGetProjectionRef(handle).map { String(cString: $0) } ?? ""
        return RasterInfo(path: path, width: width, height: height, bandCount: bandCount,
                          dataType: typeName.map { String(cString: $0) } ?? "Unknown",
                          geoTransform: transform, isGeoreferenced: hasTransform, crsWKT: wkt, nodata: nodata)
    }

    // MARK: - Windowed reads

    /// Reads a (possibly fractional) source window of every band, resampled to outputHeight × outputWidth.
    ///
    /// output: [C, outputHeight, outputWidth] channel-major, C = bandCount, raw values as Float
    /// (nodata pixels keep the band's nodata value). The window must lie inside the raster (up to
    /// 1e-3 px of rounding slack, which is clamped away).
    public func read(window: PixelWindow, outputWidth: Int, outputHeight: Int, resampling: Resampling,
                     into output: UnsafeMutableBufferPointer<Float>) throws(EODataError) {
        precondition(output.count == info.bandCount * outputWidth * outputHeight,
                     "Raster.read: output holds \(output.count), needs "
                        + "\(info.bandCount)x\(outputHeight)x\(outputWidth)")
        precondition(window.width > 0 && window.height > 0, "Raster.read: empty window \(window)")
        precondition(window.isInside(width: info.width, height: info.height, slack: 1e-3),
                     "Raster.read: window \(window) outside \(info.width)x\(info.height) raster \(info.path)")
        let x0 = max(0, window.x), y0 = max(0, window.y)
        let x1 = min(Double(info.width), window.x + window.width)
        let y1 = min(Double(info.height), window.y + window.height)
        let xOff = Int(x0.rounded(.down)), yOff = Int(y0.rounded(.down))
        let xEnd = min(info.width, max(xOff + 1, Int(x1.rounded(.up))))
        let yEnd = min(info.height, max(yOff + 1, Int(y1.rounded(.up))))
        var extra = GDALRasterIOExtraArg()
        extra.nVersion = 1
        extra.eResampleAlg = resampling.gdal
        extra.bFloatingPointWindowValidity = 1
        extra.dfXOff = x0
        extra.dfYOff = y0
        extra.dfXSize = x1 - x0
        extra.dfYSize = y1 - y0
        let floatSize = Int64(MemoryLayout<Float>.stride)
        GDALRuntime.resetError()
        let status = GDALDatasetRasterIOEx(
            handle, GF_Read, Int32(xOff), Int32(yOff), Int32(xEnd - xOff), Int32(yEnd - yOff),
            output.baseAddress, Int32(outputWidth), Int32(outputHeight), GDT_Float32,
            Int32(info.bandCount), nil, floatSize, floatSize * Int64(outputWidth),
            floatSize * Int64(outputWidth * outputHeight), &extra)
        guard status == CE_None else {
            throw .readFailed(path: info.path, reason: GDALRuntime.lastError(fallback: "GDALDatasetRasterIOEx failed"))
        }
    }

    /// Convenience: the window as a new [C, outputHeight, outputWidth] array.
    public func read(window: PixelWindow, outputWidth: Int, outputHeight: Int,
                     resampling: Resampling = .bilinear) throws(EODataError) -> [Float] {
        var values = [Float](repeating: 0, count: info.bandCount * outputWidth * outputHeight)
        try values.withUnsafeMutableBufferPointer { (buffer) throws(EODataError) in
            try read(window: window, outputWidth: outputWidth, outputHeight: outputHeight,
                     resampling: resampling, into: buffer)
        }
        return values
    }

    /// True when `value` is nodata for a band whose nodata value is `nodata` (that value, or NaN).
    @inlinable
    public static func isNodata(_ value: Float, nodata: Double?) -> Bool {
        value.isNaN || (nodata.map { Float($0) == value } ?? false)
    }
}
