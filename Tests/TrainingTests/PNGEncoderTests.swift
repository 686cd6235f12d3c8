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
