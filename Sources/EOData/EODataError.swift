/// Everything that can go wrong while opening or reading an Earth-observation dataset.
///
/// Each case names the file at fault and `description` ends with a `hint:` saying what to do.
/// Environment failures only: programming errors (bad shapes, out-of-range sample ids) trap.
public enum EODataError: Error, Equatable, Sendable {
    /// The path does not exist.
    case missingFile(path: String)
    /// GDAL cannot open the file (not a raster, corrupt, or an unsupported format).
    case unreadable(path: String, reason: String)
    /// The geotransform has rotation/shear terms or is not north-up.
    case unsupportedGeoTransform(path: String, geoTransform: [Double])
    /// The raster is smaller than one site window.
    case rasterSmallerThanSite(path: String, width: Int, height: Int, siteSize: Int)
    /// No site window of this raster passes the nodata filter.
    case noValidSites(path: String, siteCount: Int, maxNodataFraction: Double)
    /// Rasters of one dataset must have the same number of bands.
    case inconsistentBandCount(path: String, bandCount: Int, expected: Int, firstPath: String)
    /// Two rasters cover overlapping ground but are stored in different coordinate systems.
    case crsMismatch(path: String, otherPath: String)
    /// A directory or list file named no raster at all.
    case emptyDataset(source: String)
    /// A windowed read failed after the file was opened.
    case readFailed(path: String, reason: String)
    /// A file could not be written.
    case writeFailed(path: String, reason: String)
    /// A configuration value is out of range.
    case invalidConfiguration(String)
}

extension EODataError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .missingFile(let path):
            return "[eodata] \(path): no such file; hint: check the path (list files resolve relative paths "
                + "against the list's own folder); run scripts/fetch-sample-data for the sample scene"
        case .unreadable(let path, let reason):
            return "[eodata] \(path): not a raster GDAL can read (\(reason)); hint: convert it with "
                + "gdal_translate, or remove it from the dataset"
        case .unsupportedGeoTransform(let path, let gt):
            return "[eodata] \(path): geotransform \(gt) is rotated or not north-up; hint: warp it to a north-up "
                + "grid first, e.g. gdalwarp in.tif out.tif"
        case .rasterSmallerThanSite(let path, let width, let height, let site):
            return "[eodata] \(path): \(width)x\(height) pixels is smaller than one \(site)x\(site) site; "
                + "hint: lower the site size (--site-size) or remove the file"
        case .noValidSites(let path, let count, let fraction):
            return "[eodata] \(path): none of its \(count) sites has at most \(fraction * 100)% nodata; "
                + "hint: remove the file, fix its nodata value, or raise the nodata threshold"
        case .inconsistentBandCount(let path, let bands, let expected, let first):
            return "[eodata] \(path): \(bands) bands, but \(first) has \(expected); hint: every raster of a "
                + "dataset needs the same bands (select them with gdal_translate -b)"
        case .crsMismatch(let path, let other):
            return "[eodata] \(path): overlaps \(other) but uses a different CRS; hint: reproject co-registered "
                + "rasters to one CRS (gdalwarp -t_srs)"
        case .emptyDataset(let source):
            return "[eodata] \(source): names no raster file; hint: pass raster files, a folder containing "
                + "*.tif/*.jp2/... files, or a text file with one path per line"
        case .readFailed(let path, let reason):
            return "[eodata] \(path): read failed (\(reason)); hint: check that the file is intact and was not "
                + "changed while the run reads it"
        case .writeFailed(let path, let reason):
            return "[eodata] \(path): write failed (\(reason)); hint: check the folder exists and is writable"
        case .invalidConfiguration(let message):
            return "[eodata] invalid configuration: \(message); hint: fix the option named above"
        }
    }
}
