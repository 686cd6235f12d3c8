import CGDAL
import Foundation

/// Band data types a `RasterWriter` can store.
public enum RasterDataType: String, Codable, Sendable, CaseIterable {
    case byte = "Byte", uint16 = "UInt16", int16 = "Int16", uint32 = "UInt32", int32 = "Int32"
    case float32 = "Float32", float64 = "Float64"

    var gdal: GDALDataType {
        switch self {
        case .byte: return GDT_Byte
        case .uint16: return GDT_UInt16
        case .int16: return GDT_Int16
        case .uint32: return GDT_UInt32
        case .int32: return GDT_Int32
        case .float32: return GDT_Float32
        case .float64: return GDT_Float64
        }
    }
}

/// Writes small GeoTIFFs through GDAL: label rasters, reconstructions, synthetic test scenes.
public enum RasterWriter {
    /// Writes values [C, height, width] (channel-major) as a tiled, DEFLATE-compressed GeoTIFF.
    ///
    /// `geoTransform` is GDAL's six coefficients (rotation terms allowed, for test scenes); `epsg`
    /// sets the CRS (nil: none); `nodata` is set on every band. Values are converted to `dataType`
    /// by GDAL (rounded and clamped for integer types).
    public static func writeGeoTIFF(path: String, width: Int, height: Int, bandCount: Int, values: [Float],
                                    dataType: RasterDataType, geoTransform: [Double]?, epsg: Int?,
                                    nodata: Double? = nil) throws(EODataError) {
        precondition(values.count == bandCount * width * height,
                     "writeGeoTIFF: \(values.count) values for \(bandCount)x\(height)x\(width)")
        GDALRuntime.ensureRegistered()
        guard let driver = GDALGetDriverByName("GTiff") else {
            throw .writeFailed(path: path, reason: "GDAL has no GTiff driver")
        }
        var options: CSLConstList? = nil
        let optionList = CSLSetNameValue(CSLSetNameValue(nil, "TILED", "YES"), "COMPRESS", "DEFLATE")
        defer { CSLDestroy(optionList) }
        options = CSLConstList(optionList)
        GDALRuntime.resetError()
        guard let dataset = GDALCreate(driver, path, Int32(width), Int32(height), Int32(bandCount), dataType.gdal,
                                       UnsafeMutablePointer(mutating: options)) else {
            throw .writeFailed(path: path, reason: GDALRuntime.lastError(fallback: "GDALCreate failed"))
        }
        defer { GDALClose(dataset) }
        if var coefficients = geoTransform { GDALSetGeoTransform(dataset, &coefficients) }
        if let epsg, let wkt = wktForEPSG(epsg) { GDALSetProjection(dataset, wkt) }
        if let nodata {
            for band in 1...bandCount { GDALSetRasterNoDataValue(GDALGetRasterBand(dataset, Int32(band)), nodata) }
        }
        var copy = values
        let floatSize = Int64(MemoryLayout<Float>.stride)
        let status = GDALDatasetRasterIO(dataset, GF_Write, 0, 0, Int32(width), Int32(height), &copy,
                                         Int32(width), Int32(height), GDT_Float32, Int32(bandCount), nil,
                                         Int32(floatSize), Int32(floatSize) * Int32(width),
                                         Int32(floatSize) * Int32(width * height))
        guard status == CE_None else {
            throw .writeFailed(path: path, reason: GDALRuntime.lastError(fallback: "GDALDatasetRasterIO failed"))
        }
    }

    /// Copies a raster to another GDAL format (e.g. "PNG", "JPEG", "VRT", "COG") with GDAL's CreateCopy;
    /// `options` are the driver's creation options ("WORLDFILE=YES" writes a world file beside a PNG).
    public static func convert(source: String, destination: String, format: String,
                               options: [String: String] = [:]) throws(EODataError) {
        GDALRuntime.ensureRegistered()
        guard let driver = GDALGetDriverByName(format) else {
            throw .writeFailed(path: destination, reason: "GDAL has no \(format) driver")
        }
        GDALRuntime.resetError()
        guard let input = GDALOpen(source, GA_ReadOnly) else {
            throw .unreadable(path: source, reason: GDALRuntime.lastError(fallback: "GDALOpen failed"))
        }
        defer { GDALClose(input) }
        var list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
        for (key, value) in options.sorted(by: { $0.key < $1.key }) { list = CSLSetNameValue(list, key, value) }
        defer { CSLDestroy(list) }
        guard let output = GDALCreateCopy(driver, destination, input, 0, list, nil, nil) else {
            throw .writeFailed(path: destination, reason: GDALRuntime.lastError(fallback: "GDALCreateCopy failed"))
        }
        GDALClose(output)
    }

    /// WKT of an EPSG code, nil if unknown.
    public static func wktForEPSG(_ code: Int) -> String? {
        GDALRuntime.ensureRegistered()
        guard let srs = OSRNewSpatialReference(nil) else { return nil }
        defer { OSRDestroySpatialReference(srs) }
        guard OSRImportFromEPSG(srs, Int32(code)) == OGRERR_NONE else { return nil }
        var text: UnsafeMutablePointer<CChar>? = nil
        guard OSRExportToWkt(srs, &text) == OGRERR_NONE, let text else { return nil }
        defer { VSIFree(text) }
        return String(cString: text)
    }
}
