import Crypto
import Foundation

/// Proof that two processes read the same data: SHA-256 over the sorted file list (paths relative
/// to the files' common folder, so mount points may differ), file sizes, and per file a hash of
/// its first `headerBytes` bytes plus GDAL's view of it (size, bands, type, geotransform, CRS).
public struct DatasetFingerprint: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Bytes of each file's head that enter the hash.
    public static let headerBytes = 64 * 1024

    /// Lower-case hex SHA-256.
    public let hex: String
    public let fileCount: Int
    /// Sum of file sizes in bytes.
    public let totalBytes: Int

    public var description: String { "\(hex.prefix(16)) (\(fileCount) files, \(totalBytes) bytes)" }

    /// Fingerprints `dataset` (reads each file's first `headerBytes` bytes).
    public init(dataset: RasterDataset) throws(EODataError) {
        let paths = dataset.rasters.map(\.path)
        let root = Self.commonFolder(paths)
        var hasher = SHA256()
        var total = 0
        for info in dataset.rasters.sorted(by: { $0.path < $1.path }) {
            let relative = String(info.path.dropFirst(root.count))
            let (size, head) = try Self.sizeAndHead(info.path)
            total += size
            let metadata = "\(info.width)x\(info.height)x\(info.bandCount) \(info.dataType) "
                + "\(info.geoTransform.coefficients) \(info.isGeoreferenced) \(info.crsWKT) \(info.nodata)"
            for field in [relative, String(size), metadata] {
                hasher.update(data: Data(field.utf8))
                hasher.update(data: Data([0]))
            }
            hasher.update(data: Data(SHA256.hash(data: head)))
        }
        hex = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        fileCount = dataset.rasters.count
        totalBytes = total
    }

    static func sizeAndHead(_ path: String) throws(EODataError) -> (Int, Data) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .missingFile(path: path) }
        defer { try? handle.close() }
        do {
            let size = Int(try handle.seekToEnd())
            try handle.seek(toOffset: 0)
            let head = try handle.read(upToCount: headerBytes) ?? Data()
            return (size, head)
        } catch {
            throw .readFailed(path: path, reason: "\(error)")
        }
    }

    /// The longest common folder prefix (ending in "/") of absolute paths.
    static func commonFolder(_ paths: [String]) -> String {
        guard var prefix = paths.first.map({ URL(fileURLWithPath: $0).deletingLastPathComponent().path + "/" })
        else { return "" }
        for path in paths.dropFirst() {
            while !path.hasPrefix(prefix), prefix.count > 1 {
                prefix = URL(fileURLWithPath: String(prefix.dropLast())).deletingLastPathComponent().path
                if !prefix.hasSuffix("/") { prefix += "/" }
            }
        }
        return prefix
    }
}
