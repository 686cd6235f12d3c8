import EOData
import Evaluation
import Foundation
import Testing

/// Imagery 64 × 32 px at 1 degree per pixel (lon 0…64, lat 32…0, EPSG:4326) and label rasters over the
/// same ground at 4 degrees per pixel, so every 16-px tile covers 4 × 4 label pixels.
struct LabelFixture {
    let folder: URL
    let dataset: RasterDataset

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("labels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let imagery = folder.appendingPathComponent("imagery.tif").path
        try RasterWriter.writeGeoTIFF(path: imagery, width: 64, height: 32, bandCount: 1,
                                      values: (0..<(64 * 32)).map { Float($0 % 64) }, dataType: .float32,
                                      geoTransform: [0, 1, 0, 32, 0, -1], epsg: 4326)
        dataset = try RasterDataset(sources: [imagery])
    }

    /// A label raster of `width` × 8 label pixels with values(column, row), 4 degrees per pixel.
    func labels(_ name: String, width: Int = 16, epsg: Int = 4326, type: RasterDataType = .byte,
                nodata: Double? = nil, _ value: (Int, Int) -> Float) throws -> String {
        let path = folder.appendingPathComponent(name).path
        let geoTransform: [Double] = epsg == 4326 ? [0, 4, 0, 32, 0, -4] : [0, 4000, 0, 32000, 0, -4000]
        try RasterWriter.writeGeoTIFF(path: path, width: width, height: 8, bandCount: 1,
                                      values: (0..<8).flatMap { row in (0..<width).map { value($0, row) } },
                                      dataType: type, geoTransform: geoTransform, epsg: epsg, nodata: nodata)
        return path
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }
}

@Suite struct LabelRasterTests {
    @Test func majorityOfACategoricalRaster() throws {
        let fixture = try LabelFixture()
        defer { fixture.remove() }
        // Left half 1, right half 7, with one stray 7 in the first tile (a minority there).
        let path = try fixture.labels("classes.tif") { column, row in column >= 8 || (column == 0 && row == 0) ? 7 : 1 }
        let tiles = try LabelRaster(path: path, rule: .majority).label(tileGrid(fixture.dataset, side: 16),
                                                                       dataset: fixture.dataset)
        #expect(tiles.classNames == ["1", "7"])
        #expect(tiles.tiles.map(\.label) == [0, 0, 1, 1, 0, 0, 1, 1])      // 4 × 2 grid, row by row
        #expect(tiles.classCounts == [4, 4] && tiles.skipped.isEmpty)
    }

    @Test func thresholdsAndQuantilesOfAContinuousRaster() throws {
        let fixture = try LabelFixture()
        defer { fixture.remove() }
        // value = label column: a tile in imagery column t covers label columns 4t…4t+3, mean 4t + 1.5.
        let path = try fixture.labels("continuous.tif", type: .float32) { column, _ in Float(column) }
        let grid = tileGrid(fixture.dataset, side: 16)
        let binned = try LabelRaster(path: path, rule: .thresholds([4, 10])).label(grid, dataset: fixture.dataset)
        #expect(binned.tiles.map(\.label) == [0, 1, 1, 2, 0, 1, 1, 2])
        #expect(binned.classNames == ["< 4", "4–10", ">= 10"])
        let balanced = try LabelRaster(path: path, rule: .quantiles(2)).label(grid, dataset: fixture.dataset)
        #expect(balanced.classCounts == [4, 4])
    }

    @Test func tilesOutsideTheLabelsOrMostlyNodataAreSkippedAndCounted() throws {
        let fixture = try LabelFixture()
        defer { fixture.remove() }
        // Labels cover only the left 48 degrees; the first tile's label pixels are all nodata.
        let path = try fixture.labels("partial.tif", width: 12, nodata: 255) { column, row in
            column < 4 && row < 4 ? 255 : 3
        }
        let tiles = try LabelRaster(path: path, rule: .majority).label(tileGrid(fixture.dataset, side: 16),
                                                                       dataset: fixture.dataset)
        #expect(tiles.tiles.count == 5)
        #expect(tiles.skipped["outside the label raster"] == 2)
        #expect(tiles.skipped["less than 50 % valid label pixels"] == 1)
    }

    @Test func majorityOnAContinuousRasterIsRefusedWithAHint() throws {
        let fixture = try LabelFixture()
        defer { fixture.remove() }
        let path = try fixture.labels("float.tif", type: .float32) { column, _ in Float(column) + 0.5 }
        do {
            _ = try LabelRaster(path: path, rule: .majority).label(tileGrid(fixture.dataset, side: 16),
                                                                   dataset: fixture.dataset)
            Issue.record("majority accepted a Float32 raster")
        } catch {
            #expect("\(error)".contains("quantiles:N"), "\(error)")
        }
    }

    @Test func aLabelRasterInAnotherCRSIsRefused() throws {
        let fixture = try LabelFixture()
        defer { fixture.remove() }
        let path = try fixture.labels("mercator.tif", epsg: 3857) { _, _ in 1 }
        #expect(throws: EvaluationError.self) {
            try LabelRaster(path: path, rule: .majority).label(tileGrid(fixture.dataset, side: 16),
                                                               dataset: fixture.dataset)
        }
    }

    @Test func aMissingOrUnreadableLabelRasterIsAClearError() throws {
        let fixture = try LabelFixture()
        defer { fixture.remove() }
        let garbage = fixture.folder.appendingPathComponent("garbage.tif")
        try Data("not a raster".utf8).write(to: garbage)
        for path in [garbage.path, fixture.folder.appendingPathComponent("missing.tif").path] {
            #expect(throws: EODataError.self) {
                try LabelRaster(path: path, rule: .majority).label(tileGrid(fixture.dataset, side: 16),
                                                                   dataset: fixture.dataset)
            }
        }
    }
}

@Suite struct LabelCSVTests {
    @Test func boxesInMapUnitsBecomeWindows() throws {
        let fixture = try LabelFixture()
        defer { fixture.remove() }
        let text = """
            # tiles of the test scene
            label,max_y,min_x,max_x,min_y,note
            water,32,0,16,16,first
            "forest, dense",16,48,64,0,"quoted, too"
            water,40,0,16,24,outside
            """
        let tiles = try LabelCSV.label(text: text, source: "t.csv", dataset: fixture.dataset)
        #expect(tiles.classNames == ["forest, dense", "water"])
        #expect(tiles.tiles == [
            LabelledTile(raster: 0, window: PixelWindow(x: 0, y: 0, width: 16, height: 16), label: 1),
            LabelledTile(raster: 0, window: PixelWindow(x: 48, y: 16, width: 16, height: 16), label: 0),
        ])
        #expect(tiles.skipped["box not inside any raster of the dataset"] == 1)
    }

    @Test func malformedRowsNameTheirLine() throws {
        let fixture = try LabelFixture()
        defer { fixture.remove() }
        let cases = [
            ("min_x,min_y,max_x,label\n0,0,1,a", "header needs"),
            ("min_x,min_y,max_x,max_y,label\n0,0,16,16,a\n0,0,abc,16,b", "t.csv:3"),
            ("min_x,min_y,max_x,max_y,label\n16,0,0,16,a", "empty box"),
            ("min_x,min_y,max_x,max_y,label\n0,0,16", "t.csv:2"),
        ]
        for (text, expected) in cases {
            do {
                _ = try LabelCSV.label(text: text, source: "t.csv", dataset: fixture.dataset)
                Issue.record("accepted: \(text)")
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
    }
}
