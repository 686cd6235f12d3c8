import ArgumentParser
import EOData
import Evaluation
import Foundation
import TensorCore

/// `neighbormae probe`: linear probe and kNN on frozen encoder features of labelled tiles (METHOD.md §10).
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Linear probe and kNN on frozen encoder features of labelled tiles.",
        discussion: """
            Tiles are a non-overlapping grid of --tile-window source pixels over the imagery (default: the first
            run's rasters), each resampled to the model's tile side and normalised like a training crop. Labels
            come from a raster aligned with the imagery (--label-rule majority for classes, thresholds:T1,T2 or
            quantiles:N for continuous values) or from a CSV with columns min_x,min_y,max_x,max_y,label (boxes in
            the imagery's map units). Several --checkpoint runs and --random-init are probed on the same tiles and
            splits, so their numbers compare.
            """)

    @Option(name: .customLong("checkpoint"),
            help: "A run directory, its checkpoints/ folder or a step folder (repeat to compare runs).")
    var checkpoints: [String] = []
    @Flag(name: .customLong("random-init"), help: "Also probe the first run's network at initialisation (the floor).")
    var randomInit = false
    @Option(help: "A label raster aligned with the imagery, or a CSV of tile boxes and labels.")
    var labels: String
    @Option(name: .customLong("label-rule"), help: "majority | thresholds:T1,T2,... | quantiles:N (label rasters).")
    var labelRule = "majority"
    @Option(name: .customLong("label-band"),
            help: "Label raster band (1-based; default: band 1 for majority, the mean of all bands otherwise).")
    var labelBand: Int?
    @Option(help: "Imagery to tile (default: the first run's training rasters).")
    var sources: [String] = []
    @Option(name: .customLong("tile-window"),
            help: "Tile side in source pixels (default: half the run's site size, inside the training crops' range).")
    var tileWindow: Int?
    @Option(help: "Features: cls, mean (of the patch tokens) or both.")
    var pool = "cls"
    @Option(name: .customLong("held-out"), help: "Share of every class held out for testing.")
    var heldOut = 0.3
    @Option(help: "Independent stratified splits (mean ± std reported).")
    var repeats = 5
    @Option(help: "Seed of the first split.")
    var seed: UInt64 = 0
    @Option(help: "k of the kNN classifier.")
    var neighbours = 20
    @Option(help: "Channel statistics JSON (channel-stats.json) instead of re-estimating them from the run's rasters.")
    var stats: String?
    @Option(help: "Compute threads (0 = one per CPU).")
    var threads = 0
    @Option(help: "Also write the results as JSON here.")
    var json: String?

    func validate() throws {
        if checkpoints.isEmpty { throw ValidationError("give at least one --checkpoint") }
        if !(heldOut > 0 && heldOut < 1) { throw ValidationError("--held-out must be in (0, 1)") }
        if repeats < 1 || neighbours < 1 || threads < 0 {
            throw ValidationError("need --repeats >= 1, --neighbours >= 1, --threads >= 0")
        }
        if let tileWindow, tileWindow < 1 { throw ValidationError("--tile-window must be >= 1") }
        if !["cls", "mean", "both"].contains(pool) { throw ValidationError("--pool must be cls, mean or both") }
    }

    func run() throws {
        try probe { print("[probe] \($0)") }
    }

    private func probe(_ say: (String) -> Void) throws {
        let override = try stats.map(PretrainedEncoder.statistics(file:))
        var encoders: [(kind: String, encoder: PretrainedEncoder)] = []
        for path in checkpoints {
            let encoder = try PretrainedEncoder.load(from: URL(fileURLWithPath: path), stats: override) { say($0) }
            encoders.append((encoder.config.model.imagesPerSample == 2 ? "NeighborMAE" : "MAE (K = 1)", encoder))
        }
        let first = encoders[0].encoder
        if randomInit { encoders.append(("random init", PretrainedEncoder.randomlyInitialised(like: first))) }

        let dataset = try RasterDataset(sources: sources.isEmpty ? first.config.sources : sources)
        let side = tileWindow ?? max(1, first.config.pairs.siteSize / 2)
        let tiles: LabelledTiles
        if labels.lowercased().hasSuffix(".csv") {
            tiles = try LabelCSV.label(contentsOf: URL(fileURLWithPath: labels), dataset: dataset)
        } else {
            let rule = try LabelRule(parsing: labelRule)
            tiles = try LabelRaster(path: labels, rule: rule, band: labelBand).label(tileGrid(dataset, side: side),
                                                                                        dataset: dataset)
        }
        let counts = zip(tiles.classNames, tiles.classCounts).map { "\($0) (\($1))" }.joined(separator: ", ")
        let size = labels.lowercased().hasSuffix(".csv") ? "" : " of \(side)x\(side) source px"
        say("\(tiles.tiles.count) labelled tiles\(size)"
            + " from \(dataset.rasters.count) raster(s); classes: \(counts)")
        for (reason, count) in tiles.skipped.sorted(by: { $0.key < $1.key }) { say("skipped \(count): \(reason)") }

        var options = ProbeOptions()
        options.heldOutFraction = heldOut
        options.repeats = repeats
        options.seed = seed
        options.neighbours = neighbours
        say("held out \(Int((heldOut * 100).rounded())) % of every class, \(repeats) split(s) from seed \(seed); "
            + "linear probe λ by 4-fold cross-validation; kNN k = \(neighbours)")
        let poolings: [FeaturePooling] = pool == "both" ? [.cls, .mean] : [FeaturePooling(rawValue: pool)!]
        let threadPool = ThreadPool(threadCount: threads == 0 ? ThreadPool.machineThreadCount : threads)
        let entries = try ProbeStudy.run(encoders: encoders, tiles: tiles, dataset: dataset, poolings: poolings,
                                         options: options, pool: threadPool) { say($0) }
        print(ProbeStudy.report(entries, classNames: tiles.classNames, options: options))
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(ProbeResults(classNames: tiles.classNames, classCounts: tiles.classCounts,
                                            entries: entries)).write(to: URL(fileURLWithPath: json))
            say("results written to \(json)")
        }
    }
}

/// The JSON `--json` writes.
struct ProbeResults: Codable {
    var classNames: [String]
    var classCounts: [Int]
    var entries: [ProbeEntry]
}
