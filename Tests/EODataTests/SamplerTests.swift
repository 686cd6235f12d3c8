import EOData
import Foundation
import TensorCore
import Testing

@Suite("EOData pair sampler: determinism, revisits, jitter, statistics")
struct SamplerTests {
    /// Two co-registered rasters of one area (the second at half resolution) plus a lone one elsewhere.
    static func scene(_ folder: TempFolder) throws -> [String] {
        try Scenes.write(folder.path("a.tif"), width: 192, height: 160, bands: 3,
                         geoTransform: Scenes.northUp(x: 1000, y: 5000, pixel: 10), epsg: 32631,
                         value: Scenes.texture)
        try Scenes.write(folder.path("b.tif"), width: 96, height: 80, bands: 3,
                         geoTransform: Scenes.northUp(x: 1000, y: 5000, pixel: 20), epsg: 32631,
                         value: Scenes.texture)
        try Scenes.write(folder.path("c.tif"), width: 128, height: 128, bands: 3,
                         geoTransform: Scenes.northUp(x: 90_000, y: 5000, pixel: 10), epsg: 32631,
                         value: Scenes.texture)
        return [folder.url.path]
    }

    static func sampler(_ folder: TempFolder, config: PairConfig = smallConfig()) throws -> PairSampler {
        try PairSampler(sources: scene(folder), config: config, statsWindowBudget: 32)
    }

    @Test func sameKeyGivesBitIdenticalSamplesInAnyOrderThreadAndLoader() throws {
        let folder = try TempFolder()
        let sampler = try Self.sampler(folder)
        let positions = Array(0..<(2 * sampler.sites.count + 5))   // spans three epochs
        let readers = RasterReaders(dataset: sampler.dataset)
        let forward = try positions.map { try draw(sampler, $0, readers: readers) }
        // Reverse order, fresh readers.
        let fresh = RasterReaders(dataset: sampler.dataset)
        for g in positions.reversed() {
            let (tile, geometry) = try draw(sampler, g, readers: fresh)
            #expect(bits(tile) == bits(forward[g].0))
            #expect(geometry == forward[g].1)
        }
        // A freshly built sampler (new index, new statistics) on another thread, via a 2-thread loader.
        let rebuilt = try PairSampler(sources: [folder.url.path], config: smallConfig(), statsWindowBudget: 32)
        #expect(rebuilt.stats == sampler.stats)
        let shuffled = positions.reversed() + [positions[3]]
        let batch = try BatchLoader(sampler: rebuilt, threadCount: 2).load(positions: Array(shuffled))
        let k = sampler.imagesPerSample, count = sampler.sampleCount
        for (b, g) in shuffled.enumerated() {
            let slice = Array(batch.images.scalars[(b * count)..<((b + 1) * count)])
            #expect(bits(slice) == bits(forward[g].0))
            let boxes = forward[g].1.boxes.flatMap {
                [Float($0.left), Float($0.top), Float($0.right), Float($0.bottom)]
            }
            #expect(Array(batch.boxes[(b * k * 4)..<((b + 1) * k * 4)]) == boxes)
            #expect(batch.iou[b] == Float(forward[g].1.iou))
        }
        #expect(batch.images.shape == [shuffled.count, 2, 3, 16, 16])
        // Different positions differ.
        #expect(bits(forward[0].0) != bits(forward[1].0))
        #expect(bits(forward[0].0) != bits(forward[sampler.sites.count].0))
    }

    @Test func backgroundPrefetchMatchesDirectLoads() throws {
        let folder = try TempFolder()
        let sampler = try Self.sampler(folder)
        let shards = try VirtualShards(batchSize: 8, shardCount: 4)
        let loader = BatchLoader(sampler: sampler, threadCount: 1)
        let prefetcher = BatchPrefetcher(loader: BatchLoader(sampler: sampler, threadCount: 2), firstStep: 3) { step in
            shards.positions(step: step, shards: [1, 2])
        }
        for step in 3..<6 {
            let expected = try loader.load(positions: shards.positions(step: step, shards: [1, 2]))
            let batch = try prefetcher.next()
            #expect(batch.positions == expected.positions)
            #expect(bits(batch.images.scalars) == bits(expected.images.scalars))
        }
    }

    @Test func everySiteAppearsOncePerEpoch() throws {
        let folder = try TempFolder()
        let sampler = try Self.sampler(folder)
        let readers = RasterReaders(dataset: sampler.dataset)
        let n = sampler.sites.count
        for epoch in 0..<2 {
            let sites = try (0..<n).map { try draw(sampler, epoch * n + $0, readers: readers).1.site }
            #expect(Set(sites).count == n)
            #expect(Set(sites) == Set(sampler.sites.sites))
        }
    }

    @Test func revisitsComeFromTheGroupAndCoverTheSameGround() throws {
        let folder = try TempFolder()
        // A raster whose value is the map x of the pixel centre, and a half-resolution revisit of it.
        let ramp: (Int, Int, Int) -> Float = { _, _, col in Float(1000 + 10 * col + 5) }
        try Scenes.write(folder.path("a.tif"), width: 192, height: 160, bands: 1,
                         geoTransform: Scenes.northUp(x: 1000, y: 5000, pixel: 10), epsg: 32631, value: ramp)
        try Scenes.write(folder.path("b.tif"), width: 96, height: 80, bands: 1,
                         geoTransform: Scenes.northUp(x: 1000, y: 5000, pixel: 20), epsg: 32631) { _, _, col in
            Float(1000 + 20 * col + 10)
        }
        var config = smallConfig()
        config.jitter.enabled = false
        let sampler = try PairSampler(sources: [folder.url.path], config: config, stats: identityStats(channels: 1))
        #expect(sampler.dataset.groups == [[0, 1]])
        let readers = RasterReaders(dataset: sampler.dataset)
        var used = Set<[Int]>()
        for g in 0..<200 {
            let (tile, geometry) = try draw(sampler, g, readers: readers)
            used.insert(geometry.rasters)
            #expect(geometry.iou >= 0 && geometry.iou <= 1)
            #expect(abs(geometry.iou - iou(geometry.boxes[0], geometry.boxes[1])) < 1e-9)
            for k in 0..<2 {
                let box = geometry.mapBoxes[k]
                let pixel = geometry.rasters[k] == 0 ? 10.0 : 20.0
                for j in 0..<16 {
                    let expected = box.left + (Double(j) + 0.5) * box.width / 16
                    // Interpolation is exact for a ramp inside the raster; at the raster edge the
                    // clamped kernel is off by at most one source pixel.
                    #expect(abs(Double(tile[k * 256 + 8 * 16 + j]) - expected) <= pixel + 1e-3)
                }
            }
        }
        #expect(used == [[0, 0], [0, 1], [1, 0], [1, 1]])
    }

    @Test func jitterChangesTheNeighbourOnlyAndIsKeyed() throws {
        let folder = try TempFolder()
        var plain = smallConfig()
        plain.jitter.enabled = false
        let stats = identityStats(channels: 3)
        let sources = try Self.scene(folder)
        let jittered = try PairSampler(sources: sources, config: smallConfig(), stats: stats)
        let unjittered = try PairSampler(sources: sources, config: plain, stats: stats)
        let readers = RasterReaders(dataset: jittered.dataset)
        let half = jittered.sampleCount / 2
        for g in [0, 5, 17] {
            let (a, geometryA) = try draw(jittered, g, readers: readers)
            let (b, geometryB) = try draw(unjittered, g, readers: readers)
            #expect(geometryA == geometryB)
            #expect(bits(Array(a[..<half])) == bits(Array(b[..<half])))
            let difference = zip(a[half...], b[half...]).map { abs($0 - $1) }
            #expect(difference.max()! > 0.1)
            #expect(bits(try draw(jittered, g, readers: RasterReaders(dataset: jittered.dataset)).0) == bits(a))
        }
    }

    @Test func jitterNoiseIsStandardGaussianAndBrightnessContrastAreBounded() {
        let count = 40_000
        var tile = [Float](repeating: 0, count: count)
        let rng = CounterRNG(seed: 3)
        var jitterStream = rng.stream(0, 0, 1), noiseStream = rng.stream(0, 0, 2)
        let noiseOnly = PhotometricJitter(enabled: true, brightness: 0, contrast: 0, noiseStd: 1)
        tile.withUnsafeMutableBufferPointer {
            noiseOnly.apply(to: $0, jitterStream: &jitterStream, noiseStream: &noiseStream)
        }
        let mean = tile.reduce(0, +) / Float(count)
        let variance = tile.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(count)
        #expect(abs(mean) < 0.02 && abs(variance - 1) < 0.03)
        #expect(tile.filter { abs($0) > 1.96 }.count > count / 25 && tile.filter { abs($0) > 1.96 }.count < count / 15)
        // Without noise: x' = c·x + b with |b| <= 0.1 and c in [1/1.1, 1.1].
        let affine = PhotometricJitter(enabled: true, brightness: 0.1, contrast: 0.1, noiseStd: 0)
        for key in 0..<50 {
            var values: [Float] = [0, 1]
            var js = rng.stream(UInt32(key), 0, 1), ns = rng.stream(UInt32(key), 0, 2)
            values.withUnsafeMutableBufferPointer { affine.apply(to: $0, jitterStream: &js, noiseStream: &ns) }
            let offset = values[0], factor = values[1] - values[0]
            #expect(abs(offset) <= 0.1 && factor >= 1 / 1.1 - 1e-6 && factor <= 1.1 + 1e-6)
        }
    }

    @Test func singleCropBaselineUsesTheFullFrame() throws {
        let folder = try TempFolder()
        var config = smallConfig()
        config.imagesPerSample = 1
        let sampler = try Self.sampler(folder, config: config)
        let batch = try BatchLoader(sampler: sampler).load(positions: [0, 1, 2])
        #expect(batch.images.shape == [3, 1, 3, 16, 16])
        #expect(batch.boxes == [0, 32, 32, 0, 0, 32, 32, 0, 0, 32, 32, 0])
        #expect(batch.iou == [0, 0, 0])
    }

    @Test func channelStatsMatchTheSampledPixelsExactly() throws {
        let folder = try TempFolder()
        // Checkerboard 0/10 in band 0 and constant 7 in band 1: every even window has mean 5, std 5.
        try Scenes.write(folder.path("board.tif"), width: 128, height: 128, bands: 2) { b, row, col in
            b == 0 ? Float(((row + col) % 2) * 10) : 7
        }
        var config = smallConfig(site: 32, tile: 32)
        config.resampling = .nearest
        let sampler = try PairSampler(sources: [folder.url.path], config: config, statsWindowBudget: 10)
        #expect(sampler.stats.mean == [5, 7])
        #expect(sampler.stats.std == [5, 1])     // no spread -> 1
        #expect(sampler.stats.pixelCount == [10 * 32 * 32, 10 * 32 * 32])
        #expect(try ChannelStats(jsonData: sampler.stats.jsonData()) == sampler.stats)
    }

    @Test func fingerprintIsStableAndSeesChanges() throws {
        let folder = try TempFolder()
        let sources = try Self.scene(folder)
        let first = try DatasetFingerprint(dataset: RasterDataset(sources: sources))
        #expect(first == (try DatasetFingerprint(dataset: RasterDataset(sources: sources))))
        #expect(first.fileCount == 3 && first.hex.count == 64)
        let decoded = try JSONDecoder().decode(DatasetFingerprint.self, from: JSONEncoder().encode(first))
        #expect(decoded == first)
        try Scenes.write(folder.path("c.tif"), width: 128, height: 128, bands: 3,
                         geoTransform: Scenes.northUp(x: 90_000, y: 5000, pixel: 10), epsg: 32631) { b, r, c in
            Scenes.texture(b, r, c) + 1
        }
        #expect(try DatasetFingerprint(dataset: RasterDataset(sources: sources)) != first)
    }
}
