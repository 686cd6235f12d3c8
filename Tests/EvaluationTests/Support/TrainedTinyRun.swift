import Foundation
import Training
import TrainingTestSupport

/// A tiny run (TinyRun config) really trained on the synthetic scene in a temporary folder: what the
/// probe and export tests load. `remove()` deletes the folder.
struct TrainedTinyRun {
    let folder: URL
    let run: URL
    let scene: String

    /// Trains `steps` steps in one process, with a checkpoint every `checkpointEvery` steps (0: at the end).
    init(steps: Int, checkpointEvery: Int = 0) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("evaluation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        scene = try SyntheticScene.write(in: folder)
        var config = TinyRun.config(scene: scene, steps: steps)
        config.checkpointEvery = checkpointEvery
        config.pictureEvery = 0
        run = folder.appendingPathComponent("run")
        try Trainer(config: config, runDirectory: run, log: { _ in }).run()
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }
}
