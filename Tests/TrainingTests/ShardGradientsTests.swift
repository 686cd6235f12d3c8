import Foundation
import TensorCore
import Testing
import Training
import TrainingTestSupport

/// The property distributed training rests on (SYSTEM.md §4): the exact gradient of a step does not
/// depend on how its virtual shards are grouped into workers or in which order the partial sums meet.
@Suite("Shard gradients")
struct ShardGradientsTests {
    /// Each "worker" is its own Trainer (own arena, same seed), computing some shards of step 0; the
    /// fixed-point partial sums are added in the given order and read back. A worker of one shard contributes its
    /// float gradient (`singleContribution`), converted where it is added, as the ring does.
    func groupedGradient(_ groups: [[Int]], scene: String, folder: URL, tag: String) throws -> [UInt32] {
        var config = TinyRun.config(scene: scene, steps: 1)
        config.pictureEvery = 0
        let workers = try groups.indices.map { index in
            try Trainer(config: config, runDirectory: folder.appendingPathComponent("\(tag)-\(index)"), log: { _ in })
        }
        for (worker, shards) in zip(workers, groups) {
            _ = try worker.gradients.compute(step: 0, shards: shards)
            #expect(worker.gradients.singleContribution == (shards.count == 1))
        }
        if workers.count == 1 {   // one process computed every shard
            try workers[0].gradients.readSum(step: 0)
            return workers[0].arena.gradients.withUnsafeBufferPointer { $0.map(\.bitPattern) }
        }
        let total = FixedPointAccumulator(count: workers[0].arena.gradients.count)
        for worker in workers {
            if worker.gradients.singleContribution {
                try worker.arena.gradients.withUnsafeBufferPointer { try total.add($0) }
            } else {
                try total.add(worker.gradients.accumulator)
            }
        }
        var sum = [Float](repeating: 0, count: total.count)
        try sum.withUnsafeMutableBufferPointer { try total.readFloats(into: $0) }
        return sum.map(\.bitPattern)
    }

    @Test("1, 2, 3 and 4 workers in any grouping and order, single shards included, give the same gradient bits")
    func groupingDoesNotMatter() throws {
        let folder = try TrainerTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let scene = try SyntheticScene.write(in: folder)
        let one = try groupedGradient([[0, 1, 2, 3]], scene: scene, folder: folder, tag: "one")
        let two = try groupedGradient([[3, 1], [2, 0]], scene: scene, folder: folder, tag: "two")
        let three = try groupedGradient([[2], [3, 0], [1]], scene: scene, folder: folder, tag: "three")
        let four = try groupedGradient([[1], [3], [0], [2]], scene: scene, folder: folder, tag: "four")
        #expect(one.contains { $0 != 0 }, "a zero gradient proves nothing")
        #expect(one == two)
        #expect(one == three)
        #expect(one == four)
    }

    @Test("the step's masked pixels from geometry equal those of the loaded shards")
    func denominatorFromGeometry() throws {
        let folder = try TrainerTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let scene = try SyntheticScene.write(in: folder)
        var config = TinyRun.config(scene: scene, steps: 3)
        config.pictureEvery = 0
        let trainer = try Trainer(config: config, runDirectory: folder.appendingPathComponent("run"), log: { _ in })
        for step in 0..<3 {
            let losses = try trainer.gradients.compute(step: step, shards: [0, 1, 2, 3])
            #expect(losses.maskedPixels == losses.stepMaskedPixels && losses.maskedPixels > 0)
            let part = try trainer.gradients.compute(step: step, shards: [2])
            #expect(part.stepMaskedPixels == losses.stepMaskedPixels && part.maskedPixels < losses.maskedPixels)
        }
    }
}
