import EOData
import Foundation
import Testing

/// Each bad input gives one typed error naming the file, with a hint (issue 3, "Bad input").
@Suite("EOData bad-input errors")
struct DatasetErrorTests {
    /// Opens the dataset and its site index (where the size and nodata checks live).
    static func open(_ sources: [String], config: PairConfig = smallConfig()) throws(EODataError) {
        _ = try PairSampler(sources: sources, config: config, stats: identityStats(channels: 1))
    }

    static func expectNamed(_ error: EODataError?, _ file: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(error?.description.contains(file) == true, "\(String(describing: error))",
                sourceLocation: sourceLocation)
        #expect(error?.description.contains("hint:") == true, sourceLocation: sourceLocation)
    }

    @Test func missingFile() throws {
        let folder = try TempFolder()
        let error = #expect(throws: EODataError.self) { try Self.open([folder.path("absent.tif")]) }
        guard case .missingFile = error else { Issue.record("got \(String(describing: error))"); return }
        Self.expectNamed(error, "absent.tif")
    }

    @Test func missingFileInsideAListResolvesRelativeToTheList() throws {
        let folder = try TempFolder()
        try Scenes.write(folder.path("a.tif"), width: 64, height: 64, bands: 1, value: Scenes.texture)
        try "a.tif\n# comment\n\nsub/b.tif\n".write(toFile: folder.path("scenes.txt"), atomically: true,
                                                       encoding: .utf8)
        let error = #expect(throws: EODataError.self) { try Self.open([folder.path("scenes.txt")]) }
        guard case .missingFile(let path) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path.hasSuffix("/sub/b.tif"))
    }

    @Test func garbageBytesAreUnreadable() throws {
        let folder = try TempFolder()
        let junk = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
        try junk.write(to: folder.url.appendingPathComponent("junk.tif"))
        let error = #expect(throws: EODataError.self) { try Self.open([folder.path("junk.tif")]) }
        guard case .unreadable = error else { Issue.record("got \(String(describing: error))"); return }
        Self.expectNamed(error, "junk.tif")
    }

    @Test func rasterSmallerThanASite() throws {
        let folder = try TempFolder()
        try Scenes.write(folder.path("small.tif"), width: 100, height: 40, bands: 1, value: Scenes.texture)
        let error = #expect(throws: EODataError.self) { try Self.open([folder.path("small.tif")]) }
        guard case .rasterSmallerThanSite(_, 100, 40, 64) = error else {
            Issue.record("got \(String(describing: error))"); return
        }
        Self.expectNamed(error, "small.tif")
    }

    @Test func allNodataRasterHasNoValidSites() throws {
        let folder = try TempFolder()
        try Scenes.write(folder.path("good.tif"), width: 128, height: 128, bands: 1, nodata: 0) { _, _, _ in 1 }
        try Scenes.write(folder.path("empty.tif"), width: 128, height: 128, bands: 1,
                         geoTransform: Scenes.northUp(x: 500, y: 0, pixel: 1), nodata: 0) { _, _, _ in 0 }
        let error = #expect(throws: EODataError.self) { try Self.open([folder.url.path]) }
        guard case .noValidSites(_, 9, 0.5) = error else { Issue.record("got \(String(describing: error))"); return }
        Self.expectNamed(error, "empty.tif")
        // A raster half nodata passes at threshold 0.5 only for sites that are mostly valid.
        try Scenes.write(folder.path("empty.tif"), width: 128, height: 128, bands: 1,
                         geoTransform: Scenes.northUp(x: 500, y: 0, pixel: 1), nodata: 0) { _, _, col in
            col < 64 ? 0 : 1
        }
        let sampler = try PairSampler(sources: [folder.url.path], config: smallConfig(),
                                      stats: identityStats(channels: 1))
        #expect(sampler.sites.count == 9 + 6)   // good: 3x3; half: columns 32 and 64 of 3 rows
    }

    @Test func inconsistentBandCounts() throws {
        let folder = try TempFolder()
        try Scenes.write(folder.path("a.tif"), width: 64, height: 64, bands: 3, value: Scenes.texture)
        try Scenes.write(folder.path("b.tif"), width: 64, height: 64, bands: 4, value: Scenes.texture)
        let error = #expect(throws: EODataError.self) { try RasterDataset(sources: [folder.url.path]) }
        guard case .inconsistentBandCount(_, 4, 3, _) = error else {
            Issue.record("got \(String(describing: error))"); return
        }
        Self.expectNamed(error, "b.tif")
    }

    @Test func crsMismatchBetweenOverlappingRasters() throws {
        let folder = try TempFolder()
        // Lon/lat 4.0..4.3 E, 50.7..51.0 N and a UTM 31N raster around (4.15 E, 50.85 N).
        try Scenes.write(folder.path("a-wgs84.tif"), width: 300, height: 300, bands: 1,
                         geoTransform: Scenes.northUp(x: 4, y: 51, pixel: 0.001), epsg: 4326, value: Scenes.texture)
        try Scenes.write(folder.path("b-utm.tif"), width: 100, height: 100, bands: 1,
                         geoTransform: Scenes.northUp(x: 576_000, y: 5_638_000, pixel: 100), epsg: 32631,
                         value: Scenes.texture)
        let error = #expect(throws: EODataError.self) { try RasterDataset(sources: [folder.url.path]) }
        guard case .crsMismatch = error else { Issue.record("got \(String(describing: error))"); return }
        Self.expectNamed(error, "b-utm.tif")
        // Far apart (the UTM raster moved ~10 degrees east), different CRSs are fine.
        try Scenes.write(folder.path("b-utm.tif"), width: 100, height: 100, bands: 1,
                         geoTransform: Scenes.northUp(x: 1_280_000, y: 5_700_000, pixel: 100), epsg: 32631,
                         value: Scenes.texture)
        let dataset = try RasterDataset(sources: [folder.url.path])
        #expect(dataset.groups.count == 2)
    }

    @Test func rotatedGeoTransform() throws {
        let folder = try TempFolder()
        try Scenes.write(folder.path("rotated.tif"), width: 64, height: 64, bands: 1,
                         geoTransform: [0, 1, 0.2, 0, 0.1, -1], value: Scenes.texture)
        let error = #expect(throws: EODataError.self) { try Self.open([folder.path("rotated.tif")]) }
        guard case .unsupportedGeoTransform = error else { Issue.record("got \(String(describing: error))"); return }
        Self.expectNamed(error, "rotated.tif")
    }

    @Test func emptyFolderAndBadConfiguration() throws {
        let folder = try TempFolder()
        let error = #expect(throws: EODataError.self) { try Self.open([folder.url.path]) }
        guard case .emptyDataset = error else { Issue.record("got \(String(describing: error))"); return }
        var config = smallConfig()
        config.imagesPerSample = 3
        #expect(throws: EODataError.self) { try config.validate() }
    }
}
