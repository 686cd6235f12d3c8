import Foundation

/// A validated list of rasters and their co-registered groups (revisits of the same area).
///
/// Opening checks every file once (exists, GDAL reads it, north-up, same band count, no CRS
/// mismatch between overlapping rasters) and throws one `EODataError` naming the first bad file.
/// The value is `Sendable` metadata only: pixel reads go through per-thread `Raster` handles.
public struct RasterDataset: Sendable {
    /// The rasters, sorted by path.
    public let rasters: [RasterInfo]
    /// For each raster, the index of its co-registered group in `groups`.
    public let groupOfRaster: [Int]
    /// Co-registered groups: rasters with the same CRS whose footprints overlap (transitively).
    public let groups: [[Int]]

    /// Channels per raster (the same for all).
    public var bandCount: Int { rasters[0].bandCount }

    /// File extensions collected when a dataset source is a directory.
    public static let rasterExtensions: Set<String> = ["tif", "tiff", "jp2", "j2k", "png", "jpg", "jpeg", "vrt",
                                                       "img", "bil", "dem", "asc", "nc", "hdf"]
    /// File extensions read as text lists of raster paths (one per line, relative to the list).
    public static let listExtensions: Set<String> = ["txt", "list", "lst"]

    /// Opens and validates a dataset from raster files, directories (searched recursively for
    /// `rasterExtensions`) and list files, in any mix.
    public init(sources: [String]) throws(EODataError) {
        var paths: [String] = []
        for source in sources { paths += try Self.expand(source) }
        paths = Array(Set(paths)).sorted()
        guard !paths.isEmpty else { throw .emptyDataset(source: sources.joined(separator: ", ")) }
        var infos: [RasterInfo] = []
        for path in paths {
            let raster = try Raster(path: path)
            if let first = infos.first, raster.info.bandCount != first.bandCount {
                throw .inconsistentBandCount(path: path, bandCount: raster.info.bandCount,
                                             expected: first.bandCount, firstPath: first.path)
            }
            infos.append(raster.info)
        }
        try self.init(validated: infos)
    }

    /// A dataset of already opened rasters' metadata (checks CRS consistency and builds groups).
    public init(validated infos: [RasterInfo]) throws(EODataError) {
        precondition(!infos.isEmpty, "RasterDataset: no rasters")
        rasters = infos
        let sameCRS = CRSClasses(infos.map(\.crsWKT))
        try Self.checkCRS(infos, sameCRS: sameCRS)
        (groupOfRaster, groups) = Self.group(infos, sameCRS: sameCRS)
    }

    // MARK: - Sources

    static func expand(_ source: String) throws(EODataError) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
            throw .missingFile(path: source)
        }
        let url = URL(fileURLWithPath: source)
        if isDirectory.boolValue {
            let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil)
            var found: [String] = []
            while let item = enumerator?.nextObject() as? URL {
                if rasterExtensions.contains(item.pathExtension.lowercased()) { found.append(item.path) }
            }
            guard !found.isEmpty else { throw .emptyDataset(source: source) }
            return found.sorted()
        }
        if listExtensions.contains(url.pathExtension.lowercased()) { return try readList(url) }
        return [url.standardizedFileURL.path]
    }

    static func readList(_ url: URL) throws(EODataError) -> [String] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw .unreadable(path: url.path, reason: "list file is not UTF-8 text")
        }
        let folder = url.deletingLastPathComponent()
        var paths: [String] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let entry = line.trimmingCharacters(in: .whitespaces)
            if entry.isEmpty || entry.hasPrefix("#") { continue }
            let resolved = entry.hasPrefix("/") ? URL(fileURLWithPath: entry)
                : folder.appendingPathComponent(entry)
            paths.append(resolved.standardizedFileURL.path)
        }
        guard !paths.isEmpty else { throw .emptyDataset(source: url.path) }
        return paths
    }

    // MARK: - CRS checks and co-registered groups

    /// Overlapping rasters (by lon/lat bounds) must share a CRS.
    static func checkCRS(_ infos: [RasterInfo], sameCRS: CRSClasses) throws(EODataError) {
        guard sameCRS.classCount > 1 else { return }
        let bounds = infos.map { info in
            info.isGeoreferenced ? CoordinateSystem.geographicBounds(of: info.footprint, wkt: info.crsWKT) : nil
        }
        for j in infos.indices {
            guard let bj = bounds[j] else { continue }
            for i in 0..<j where sameCRS.classOf[i] != sameCRS.classOf[j] {
                if let bi = bounds[i], bi.overlaps(bj) {
                    throw .crsMismatch(path: infos[j].path, otherPath: infos[i].path)
                }
            }
        }
    }

    /// Union-find over "same CRS and overlapping footprints" (georeferenced rasters only).
    static func group(_ infos: [RasterInfo], sameCRS: CRSClasses) -> ([Int], [[Int]]) {
        var parent = Array(infos.indices)
        func root(_ i: Int) -> Int {
            var i = i
            while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }
            return i
        }
        for j in infos.indices where infos[j].isGeoreferenced {
            for i in 0..<j where infos[i].isGeoreferenced && sameCRS.classOf[i] == sameCRS.classOf[j]
                && infos[i].footprint.overlaps(infos[j].footprint) {
                parent[root(j)] = root(i)
            }
        }
        var groupIndex: [Int: Int] = [:]
        var groups: [[Int]] = []
        var groupOf = [Int](repeating: 0, count: infos.count)
        for i in infos.indices {
            let r = root(i)
            if groupIndex[r] == nil { groupIndex[r] = groups.count; groups.append([]) }
            groupOf[i] = groupIndex[r]!
            groups[groupOf[i]].append(i)
        }
        return (groupOf, groups)
    }
}

/// Equivalence classes of CRS WKT strings under `CoordinateSystem.isSame` (compared once per
/// distinct string, not per raster pair).
struct CRSClasses {
    let classOf: [Int]
    let classCount: Int

    init(_ wkts: [String]) {
        var representatives: [String] = []
        var byString: [String: Int] = [:]
        var classOf: [Int] = []
        for wkt in wkts {
            if let known = byString[wkt] { classOf.append(known); continue }
            let match = representatives.firstIndex { CoordinateSystem.isSame($0, wkt) }
            let index = match ?? representatives.count
            if match == nil { representatives.append(wkt) }
            byString[wkt] = index
            classOf.append(index)
        }
        self.classOf = classOf
        classCount = representatives.count
    }
}
