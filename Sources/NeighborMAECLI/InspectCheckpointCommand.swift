import ArgumentParser
import Foundation
import Training

/// `neighbormae inspect-checkpoint PATH`: prints a checkpoint's manifest and verifies its files.
/// PATH may be a checkpoint directory, a `checkpoints` directory or a run directory (newest checkpoint).
struct InspectCheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect-checkpoint", abstract: "Summarise and verify a checkpoint (exit 1 if it is damaged).")

    @Argument(help: "A checkpoint, a checkpoints directory, or a run directory.")
    var path: String

    func run() throws {
        let url = try resolve(URL(fileURLWithPath: path))
        print("checkpoint  \(url.path)")
        let manifest: CheckpointManifest
        do {
            manifest = try CheckpointStore.verify(url)
        } catch {
            print("verify      FAILED: \(error)")
            throw ExitCode(1)
        }
        print("step        \(manifest.step) (\(manifest.samplesConsumed) samples consumed)")
        print("run         seed \(manifest.seed), \(manifest.config.steps) steps of \(manifest.config.batchSize) pairs "
              + "in \(manifest.config.virtualShards) virtual shards")
        let model = manifest.config.model
        print("model       T \(model.imageSize) p \(model.patchSize) C \(model.channels) K \(model.imagesPerSample), "
              + "encoder \(model.encoderWidth)x\(model.encoderDepth), "
              + "decoder \(model.decoderWidth)x\(model.decoderDepth)")
        print("written     \(manifest.createdAt), format \(manifest.formatVersion)")
        print("state       sha256 \(manifest.stateSHA256)")
        for (name, digest) in manifest.files.sorted(by: { $0.key < $1.key }) {
            print("file        \(name)  \(digest.bytes) bytes  sha256 \(digest.sha256.prefix(16))…  ok")
        }
        for record in manifest.membershipHistory {
            print("membership  epoch \(record.epoch) from step \(record.fromStep): workers \(record.workers) "
                  + "(\(record.reason))")
        }
        print("verify      ok")
    }

    /// A checkpoint directory itself, or the newest `step-*` of a run or checkpoints directory.
    private func resolve(_ url: URL) throws -> URL {
        guard let newest = CheckpointStore.checkpoints(under: url).first else {
            throw ValidationError("no checkpoint under \(url.path) "
                                  + "(hint: give a run directory or a step-NNNNNNN folder)")
        }
        return newest
    }
}
