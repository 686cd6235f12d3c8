import EOData
import Foundation
import Testing

/// The real sample scene made by scripts/fetch-sample-data (scripts/test runs it first).
@Suite("EOData sample scene (NASA Blue Marble from marble-qt-data)")
struct SampleSceneTests {
    /// data/sample/bluemarble.tif under $NEIGHBORMAE_DATA or the repository root (found from this file).
    static var scenePath: String {
        let data = ProcessInfo.processInfo.environment["NEIGHBORMAE_DATA"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("data")
        return data.appendingPathComponent("sample/bluemarble.tif").path
    }

    @Test func blueMarbleIsAGeoreferencedWorldMosaic() throws {
        let path = Self.scenePath
        try #require(FileManager.default.fileExists(atPath: path),
                     "\(path) missing; hint: run scripts/fetch-sample-data")
        let raster = try Raster(path: path)
        #expect(raster.info.width == 2700 && raster.info.height == 1350 && raster.info.bandCount == 3)
        #expect(raster.info.dataType == "Byte")
        #expect(CoordinateSystem.authorityCode(raster.info.crsWKT) == "EPSG:4326")
        let footprint = raster.info.footprint
        for (value, expected) in [(footprint.left, -180.0), (footprint.top, 90), (footprint.right, 180),
                                  (footprint.bottom, -90)] {
            #expect(abs(value - expected) < 1e-9)
        }
    }

    @Test func statisticsAndPairsArePlausible() throws {
        let path = Self.scenePath
        try #require(FileManager.default.fileExists(atPath: path),
                     "\(path) missing; hint: run scripts/fetch-sample-data")
        let sampler = try PairSampler(sources: [path], config: PairConfig(), statsWindowBudget: 64)
        // 2700 x 1350 at site 256, stride 128: 21 x 10 grid positions, no nodata.
        #expect(sampler.sites.count == 210)
        for c in 0..<3 {
            #expect(sampler.stats.mean[c] > 10 && sampler.stats.mean[c] < 160, "mean \(sampler.stats.mean)")
            #expect(sampler.stats.std[c] > 10 && sampler.stats.std[c] < 128, "std \(sampler.stats.std)")
        }
        #expect(sampler.stats.mean[2] > sampler.stats.mean[0])   // oceans: more blue than red
        let batch = try BatchLoader(sampler: sampler, threadCount: 2).load(positions: Array(1000..<1032))
        #expect(batch.images.shape == [32, 2, 3, 64, 64])
        let pixels = batch.images.scalars
        #expect(pixels.allSatisfy { $0.isFinite && abs($0) < 20 })
        let mean = pixels.reduce(0, +) / Float(pixels.count)
        #expect(abs(mean) < 1)
        #expect(batch.iou.allSatisfy { (0...1).contains($0) })
        #expect(batch.iou.reduce(0, +) / 32 > 0.2)       // crops of one site overlap heavily
        #expect(batch.boxes.allSatisfy { $0 >= 0 && $0 <= 32 + 1e-4 })
    }
}
