import EOData
import Evaluation
import Foundation
import Testing
import Training

/// End to end on the synthetic scene: a tiny run trains 3 steps (a checkpoint after each), its encoder and
/// a random initialisation are probed on labels made from the scene itself (band 1 brightness halves).
@Suite(.serialized) struct ProbeStudyTests {
    @Test func probesTrainedAndRandomEncodersOnTheSameSplits() throws {
        let trained = try TrainedTinyRun(steps: 3, checkpointEvery: 1)
        defer { trained.remove() }
        let (run, scene) = (trained.run, trained.scene)
        let encoder = try PretrainedEncoder.load(from: run)
        #expect(encoder.step == 3)
        let dataset = try RasterDataset(sources: [scene])
        let tiles = try LabelRaster(path: scene, rule: .quantiles(2), band: 1).label(tileGrid(dataset, side: 16),
                                                                                   dataset: dataset)
        #expect(tiles.tiles.count == 16 * 12 && tiles.classCounts == [96, 96])
        var options = ProbeOptions()
        options.repeats = 3
        let entries = try ProbeStudy.run(encoders: [("NeighborMAE", encoder),
                                                    ("random init", .randomlyInitialised(like: encoder))],
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
        let trained = try TrainedTinyRun(steps: 3, checkpointEvery: 1)
        defer { trained.remove() }
        let run = trained.run
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
        let trained = try TrainedTinyRun(steps: 3, checkpointEvery: 1)
        defer { trained.remove() }
        let run = trained.run
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
