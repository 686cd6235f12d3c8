import EOData
import Evaluation
import Foundation
import Testing
import Training
import TrainingTestSupport

/// End to end on the synthetic scene: a tiny run trains 3 steps (a checkpoint after each), its encoder and
/// a random initialisation are probed on labels made from the scene itself (band 1 brightness halves).
@Suite(.serialized) struct ProbeStudyTests {
    static func trainedRun() throws -> (folder: URL, run: URL, scene: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let scene = try SyntheticScene.write(in: folder)
        var config = TinyRun.config(scene: scene, steps: 3)
        config.checkpointEvery = 1
        config.pictureEvery = 0
        let run = folder.appendingPathComponent("run")
        try Trainer(config: config, runDirectory: run, log: { _ in }).run()
        return (folder, run, scene)
    }

    @Test func probesTrainedAndRandomEncodersOnTheSameSplits() throws {
        let (folder, run, scene) = try Self.trainedRun()
        defer { try? FileManager.default.removeItem(at: folder) }
        let trained = try PretrainedEncoder.load(from: run)
        #expect(trained.step == 3)
        let dataset = try RasterDataset(sources: [scene])
        let tiles = try LabelRaster(path: scene, rule: .quantiles(2), band: 1).label(tileGrid(dataset, side: 16),
                                                                                   dataset: dataset)
        #expect(tiles.tiles.count == 16 * 12 && tiles.classCounts == [96, 96])
        var options = ProbeOptions()
        options.repeats = 3
        let entries = try ProbeStudy.run(encoders: [("NeighborMAE", trained),
                                                    ("random init", .randomlyInitialised(like: trained))],
                                         tiles: tiles, dataset: dataset, poolings: [.mean], options: options)
        #expect(entries.map(\.kind) == ["NeighborMAE", "random init"])
        for entry in entries {
            #expect(entry.linearAccuracy.count == 3 && entry.heldOutTiles == 58)      // round(0.3 · 96) per class
            #expect(entry.linearConfusion.total == 3 * 58 && entry.nearestNeighbourConfusion.total == 3 * 58)
            // Brightness halves are a linear function of the input; any encoder that keeps colour passes
            // 0.75 (chance is 0.5). Observed ≈ 0.9–1.0.
            #expect(meanAndSpread(entry.linearAccuracy).mean >= 0.75, "\(entry.kind): \(entry.linearAccuracy)")
            #expect(entry.majorityClassAccuracy.allSatisfy { $0 == 0.5 })
        }
        let report = ProbeStudy.report(entries, classNames: tiles.classNames, options: options)
        #expect(report.contains("== summary") && report.contains("random init") && report.contains("kNN confusion"))
    }

    @Test func aCorruptNewestCheckpointFallsBackAndAnExplicitOneIsRefused() throws {
        let (folder, run, _) = try Self.trainedRun()
        defer { try? FileManager.default.removeItem(at: folder) }
        let newest = run.appendingPathComponent("checkpoints/step-0000003")
        let weights = newest.appendingPathComponent(CheckpointStore.modelFile)
        var bytes = try Data(contentsOf: weights)
        bytes[bytes.count - 5] ^= 0xFF
        try bytes.write(to: weights)
        var lines: [String] = []
        let encoder = try PretrainedEncoder.load(from: run) { lines.append($0) }
        #expect(encoder.step == 2 && encoder.origin.hasSuffix("step-0000002"))
        #expect(lines.count == 1 && lines[0].contains("step-0000003"))
        #expect(throws: CheckpointError.self) { try PretrainedEncoder.load(from: newest) }
    }

    /// A manifest is input from disk: an impossible model shape in it is an error, not a trap.
    @Test func aManifestWithAnImpossibleModelIsRefused() throws {
        let (folder, run, _) = try Self.trainedRun()
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = run.appendingPathComponent("checkpoints/step-0000003")
        let manifestURL = checkpoint.appendingPathComponent(CheckpointStore.manifestFile)
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as! [String: Any]
        var config = manifest["config"] as! [String: Any]
        var model = config["model"] as! [String: Any]
        model["encoderHeads"] = 0
        config["model"] = model
        manifest["config"] = config
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
        #expect(throws: TrainingConfigError.self) { try PretrainedEncoder.load(from: checkpoint) }
    }
}
