import EOData
import Foundation
import NeighborMAE
import Testing
import Training
import TrainingTestSupport

/// End-to-end runs of the single-process trainer on a small synthetic GeoTIFF (written through GDAL).
@Suite struct TrainerTests {
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("trainer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func trainsWritesTheRunDirectoryAndTheLossFalls() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let scene = try SyntheticScene.write(in: folder)
        let run = folder.appendingPathComponent("run")
        let trainer = try Trainer(config: TinyRun.config(scene: scene, steps: 40), runDirectory: run)
        try trainer.run()

        let records = try MetricsLog.read(run.appendingPathComponent("metrics.jsonl"))
        #expect(records.count == 40)
        #expect(records.compactMap { $0["samples"] as? Int } == (1...40).map { $0 * 16 })   // each step consumes B samples
        let losses = records.compactMap { $0["loss"] as? Double }
        let finite = losses.allSatisfy { $0.isFinite }
        #expect(finite && losses.count == 40)
        let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
        #expect(last < 0.8 * first, "loss \(first) -> \(last) did not fall by 20 %")
        for file in ["config.yaml", "channel-stats.json", "loss.png", "recon/step-0000000.png", "recon/step-0000039.png"] {
            let exists = FileManager.default.fileExists(atPath: run.appendingPathComponent(file).path)
            #expect(exists, "\(file)")
        }
        let decoded = try TrainingConfig.load(contentsOf: run.appendingPathComponent("config.yaml"))
        #expect(decoded == TinyRun.config(scene: scene, steps: 40))
    }

    /// The same config twice gives bit-identical parameters, and so does a different thread count.
    @Test func runsAreBitReproducibleAcrossThreadCounts() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let scene = try SyntheticScene.write(in: folder)
        var results: [[UInt32]] = []
        for (index, threads) in [2, 2, 1].enumerated() {
            var config = TinyRun.config(scene: scene, steps: 3)
            config.threads = threads
            config.pictureEvery = 0
            let trainer = try Trainer(config: config, runDirectory: folder.appendingPathComponent("run\(index)"))
            try trainer.run()
            results.append(trainer.arena.parameters.withUnsafeBufferPointer { $0.map(\.bitPattern) })
        }
        #expect(results[0] == results[1])
        #expect(results[0] == results[2])
    }

    /// A run interrupted after a checkpoint and resumed in a new Trainer ends bit-identical to an
    /// uninterrupted run; a checkpoint of another run is refused.
    @Test func resumeFromCheckpointIsBitIdentical() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let scene = try SyntheticScene.write(in: folder)
        var config = TinyRun.config(scene: scene, steps: 6)
        config.pictureEvery = 0
        config.checkpointEvery = 3
        let whole = try Trainer(config: config, runDirectory: folder.appendingPathComponent("whole"), log: { _ in })
        try whole.run()

        let interrupted = folder.appendingPathComponent("interrupted")
        let first = try Trainer(config: config, runDirectory: interrupted, log: { _ in })
        for _ in 0..<4 { try first.trainStep() }      // step 3 runs past the checkpoint and is lost
        var lines: [String] = []
        let resumed = try Trainer(config: config, runDirectory: interrupted, resume: true, log: { lines.append($0) })
        #expect(resumed.nextStep == 3)
        #expect(lines.contains { $0.contains("step-0000003") })
        try resumed.run()
        let bits = { (t: Trainer) in t.arena.parameters.withUnsafeBufferPointer { $0.map(\.bitPattern) } }
        #expect(bits(resumed) == bits(whole))
        #expect(resumed.state.sha256() == whole.state.sha256())
        let steps = try MetricsLog.read(interrupted.appendingPathComponent("metrics.jsonl")).compactMap { $0["step"] as? Int }
        #expect(steps == Array(0..<6), "every step logged exactly once across the interruption")

        var other = config
        other.seed += 1
        #expect(throws: TrainingConfigError.self) {
            try Trainer(config: other, runDirectory: interrupted, resume: true, log: { _ in })
        }
    }

    /// The exact (fixed-point) shard sum is the float sum up to rounding: same gradient to 1e-5 of its
    /// scale, while the two paths are distinguishable bit for bit.
    @Test func exactGradientSumMatchesFloatSum() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let scene = try SyntheticScene.write(in: folder)
        var gradients: [[Float]] = []
        for (index, mode) in [TrainingConfig.GradientSum.exact, .float].enumerated() {
            var config = TinyRun.config(scene: scene, steps: 1)
            config.pictureEvery = 0
            config.gradientSum = mode
            let trainer = try Trainer(config: config, runDirectory: folder.appendingPathComponent("run\(index)"),
                                      log: { _ in })
            try trainer.trainStep()
            gradients.append(trainer.arena.gradients.withUnsafeBufferPointer { Array($0) })
        }
        let scale = gradients[1].map(\.magnitude).max()!
        let worst = zip(gradients[0], gradients[1]).map { ($0 - $1).magnitude }.max()!
        #expect(scale > 0 && worst <= 1e-5 * scale, "worst difference \(worst) at scale \(scale)")
        #expect(gradients[0] != gradients[1], "the exact path was not taken")
    }

    @Test func rejectsInconsistentConfigurations() throws {
        var config = TrainingConfig()
        config.pairs.tileSize = 32
        #expect(throws: TrainingConfigError.self) { try config.validate() }
        config = TrainingConfig()
        config.batchSize = 10
        config.virtualShards = 4
        #expect(throws: TrainingConfigError.self) { try config.validate() }
        config = TrainingConfig()
        config.model.imagesPerSample = 1
        #expect(throws: TrainingConfigError.self) { try config.validate() }
        config.pairs.imagesPerSample = 1
        try config.validate()
        config.batchSize = 64
        config.virtualShards = 64
        #expect(throws: TrainingConfigError.self) { try config.validate() }   // > 32 shards in an exact sum
        config.gradientSum = .float
        try config.validate()
    }
}
