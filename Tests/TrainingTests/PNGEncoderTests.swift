import EOData
import Foundation
import Testing
import Training

@Suite struct PNGEncoderTests {
    /// Encodes an image and reads it back with GDAL's PNG driver (an independent decoder).
    @Test(arguments: [(1, 1, 3), (37, 5, 3), (300, 250, 1), (400, 200, 3)])
    func gdalDecodesWhatWeEncode(width: Int, height: Int, channels: Int) throws {
        let pixels = (0..<(width * height * channels)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("png-\(width)x\(height)x\(channels).png")
        defer { try? FileManager.default.removeItem(at: url) }
        try PNGEncoder.encode(width: width, height: height, channels: channels, pixels: pixels).write(to: url)

        let raster = try Raster(path: url.path)
        #expect(raster.info.width == width && raster.info.height == height && raster.info.bandCount == channels)
        var planes = [Float](repeating: -1, count: width * height * channels)
        try planes.withUnsafeMutableBufferPointer { buffer in
            try raster.read(window: PixelWindow(x: 0, y: 0, width: Double(width), height: Double(height)),
                            outputWidth: width, outputHeight: height, resampling: .nearest, into: buffer)
        }
        // GDAL returns band-major planes; our input is pixel-interleaved.
        var mismatches = 0
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels where planes[(c * height + y) * width + x] != Float(pixels[(y * width + x) * channels + c]) {
                    mismatches += 1
                }
            }
        }
        #expect(mismatches == 0)
    }
}

@Suite struct MetricsLogTests {
    @Test func appendsSortedJSONLinesAndReadsThemBack() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            let log = try MetricsLog(url: url)
            try log.append(["step": 1, "loss": 0.5])
            try log.append(["step": 2, "loss": 0.25, "tag": "x"])
        }
        do {   // reopening appends
            try MetricsLog(url: url).append(["step": 3])
        }
        // a torn last line (a crash mid-write) is ignored by readers
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"step\": 4, \"lo".utf8))
        try handle.close()
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.hasPrefix("{\"loss\":0.5,\"step\":1}\n"))
        let records = try MetricsLog.read(url)
        #expect(records.compactMap { $0["step"] as? Int } == [1, 2, 3])
        #expect(records[1]["tag"] as? String == "x")
    }
}

@Suite struct PicturesTests {
    @Test func pastedTilesAreDenormalisedAndMasked() {
        let stats = ChannelStats(mean: [100, 50, 0], std: [10, 5, 1], pixelCount: [4, 4, 4], windowCount: 1)
        var grid = ImageGrid(width: 4, height: 2)
        // One 2x2 tile, value 1.0 everywhere = mean + 1 std.
        let tile = [Float](repeating: 1, count: 3 * 4)
        tile.withUnsafeBufferPointer { buffer in
            grid.paste(tile: buffer, channels: 3, side: 2, at: 2, y: 0, stats: stats, displayRange: 0...255,
                       mask: [false, true, false, false])
        }
        #expect(Array(grid.pixels[0..<3]) == [255, 255, 255])                 // untouched background
        #expect(Array(grid.pixels[6..<9]) == [110, 55, 1])                    // (x=2, y=0)
        #expect(Array(grid.pixels[9..<12]) == [128, 128, 128])                // masked pixel
    }

    @Test func lossCurveDrawsEachSeriesInItsColour() {
        let falling: [(step: Double, value: Double)] = (0..<50).map { step in
            let decay: Double = exp(-Double(step) / 20)
            return (step: Double(step), value: 2 * decay + 0.1)
        }
        let plot = LossCurvePlot(width: 200, height: 120).render([
            .init(points: falling, color: (200, 0, 0)),
            .init(points: falling.map { ($0.step, $0.value * 0.8) }, color: (0, 0, 200)),
        ])
        func count(_ rgb: [UInt8]) -> Int {
            stride(from: 0, to: plot.pixels.count, by: 3).filter { Array(plot.pixels[$0..<($0 + 3)]) == rgb }.count
        }
        #expect(count([200, 0, 0]) > 100)
        #expect(count([0, 0, 200]) > 100)
        // The highest point of the falling curves is the first one, drawn at the top-left of the plot area.
        #expect(Array(plot.pixels[((20 * 200) + 20) * 3..<((20 * 200) + 20) * 3 + 3]) == [200, 0, 0])
    }
}
