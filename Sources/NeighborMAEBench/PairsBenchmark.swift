import ArgumentParser
import EOData
import Foundation
import TensorCore

/// `neighbormae-bench pairs`: neighbour-pair production rate on the sample scene.
///
/// Loads batches of the CPU preset (T = 64, site 256, C = 3) with 1 and 2 loader threads over the
/// same sample positions, checks the two produce bit-identical batches, and prints pairs/s (wall),
/// pairs per CPU-second, and the 2-thread / 1-thread ratio.
struct PairsBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pairs", abstract: "Pairs/s of the EOData neighbour-pair loader on the sample scene.")

    @Option(help: "Raster files, folders or list files (default: the sample scene).")
    var data: [String] = []

    @Option(help: "Samples per batch.")
    var batch = 64

    @Option(help: "Batches per measurement.")
    var batches = 20

    @Option(help: "Output tile side T.")
    var tileSize = 64

    @Option(help: "Site window side in source pixels.")
    var siteSize = 256

    @Option(help: "Thread counts to measure.")
    var threads: [Int] = [1, 2]

    func run() throws {
        let sources = data.isEmpty ? [Self.defaultScene] : data
        var config = PairConfig()
        config.tileSize = tileSize
        config.siteSize = siteSize
        let setupStart = Date()
        let sampler = try PairSampler(sources: sources, config: config)
        print("[bench pairs] \(sources.joined(separator: ", ")): \(sampler.sites.count) sites, "
              + "C=\(sampler.channels) T=\(tileSize) site=\(siteSize); index + stats "
              + String(format: "%.2f s", Date().timeIntervalSince(setupStart)))
        var rates: [Int: Double] = [:]
        var reference: [Float]? = nil
        for threadCount in threads {
            let loader = BatchLoader(sampler: sampler, threadCount: threadCount)
            _ = try loader.load(positions: Array(0..<batch))           // warm-up: opens handles, fills caches
            let start = Date(), cpuStart = Self.processCPUSeconds()
            var last: PairBatch? = nil
            for step in 1...batches {
                last = try loader.load(positions: Array((step * batch)..<((step + 1) * batch)))
            }
            let seconds = Date().timeIntervalSince(start)
            let cpuSeconds = Self.processCPUSeconds() - cpuStart
            let rate = Double(batches * batch) / seconds
            rates[threadCount] = rate
            let scalars = last!.images.scalars
            let identical = reference.map { $0.elementsEqual(scalars) { $0.bitPattern == $1.bitPattern } } ?? true
            reference = reference ?? scalars
            print(String(format: "[bench pairs] threads %d: %8.1f pairs/s  %8.1f pairs per CPU-second  "
                         + "(%d batches of %d, %.2f s wall, %.2f s CPU)%@", threadCount, rate,
                         Double(batches * batch) / cpuSeconds, batches, batch, seconds, cpuSeconds,
                         identical ? "" : "  MISMATCH"))
        }
        if let one = rates[1], let two = rates[2] {
            print(String(format: "[bench pairs] 2 threads / 1 thread: %.2fx", two / one))
        }
    }

    /// CPU time of the whole process (all threads): on a shared machine, pairs per CPU-second is
    /// the figure that does not depend on what else is running.
    static func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    /// $NEIGHBORMAE_DATA/sample/bluemarble.tif, else data/sample/bluemarble.tif in the current folder.
    static var defaultScene: String {
        let data = ProcessInfo.processInfo.environment["NEIGHBORMAE_DATA"] ?? "data"
        return data + "/sample/bluemarble.tif"
    }
}
