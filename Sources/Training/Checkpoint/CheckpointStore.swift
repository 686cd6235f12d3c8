import Crypto
import Foundation
import NN
import TensorCore

// MARK: - A run's checkpoints directory: atomic writes, verified loads, pruning

/// Where a checkpoint write is when `CheckpointStore.write` calls its fault hook. Tests throw from the hook
/// (the write stops there, as after a crash) or kill the process in it.
public enum CheckpointWritePhase: String, Sendable, CaseIterable {
    case afterModel, afterOptimizer, afterManifest, afterRename
}

/// `checkpoints/step-NNNNNNN/{model.safetensors, optimizer.safetensors, manifest.json}` plus a
/// `latest` symlink (SYSTEM.md §6).
///
/// A write goes to a temporary directory; every file is fsynced, the manifest last; the directory is
/// renamed into place and the parent fsynced; only then does `latest` move and do old checkpoints go.
/// A crash at any point leaves the previous checkpoints intact and at worst a `.tmp-*` directory,
/// which is not a checkpoint and is removed by the next write.
public struct CheckpointStore: Sendable {
    public static let modelFile = "model.safetensors"
    public static let optimizerFile = "optimizer.safetensors"
    public static let manifestFile = "manifest.json"

    /// The `checkpoints` directory of a run.
    public let directory: URL
    /// Checkpoints kept after a write (the newest ones; at least 1).
    public let keep: Int

    public init(directory: URL, keep: Int = 3) {
        precondition(keep >= 1, "CheckpointStore: keep must be at least 1, got \(keep)")
        self.directory = directory
        self.keep = keep
    }

    /// The directory name of the checkpoint after `step` steps.
    public static func name(step: Int) -> String {
        let digits = String(step)
        return "step-" + String(repeating: "0", count: max(0, 7 - digits.count)) + digits
    }

    // MARK: - Writing

    /// Writes `state` as a new checkpoint and returns its directory. Replaces an existing checkpoint of
    /// the same step only after the new one is complete.
    @discardableResult
    public func write(_ state: TrainingState, config: TrainingConfig, membership: [MembershipRecord] = [],
                      fault: (CheckpointWritePhase) throws(CheckpointError) -> Void = { _ in })
        throws(CheckpointError) -> URL {
        try createDirectoryIfNeeded()
        removeTemporaryDirectories()
        let name = Self.name(step: state.step)
        let temporary = directory.appendingPathComponent(".tmp-\(name)-\(getpid())")
        try DurableFiles.makeDirectory(temporary)

        let (model, optimizer) = Self.encodeTensors(state)
        try DurableFiles.write(model, to: temporary.appendingPathComponent(Self.modelFile))
        try fault(.afterModel)
        try DurableFiles.write(optimizer, to: temporary.appendingPathComponent(Self.optimizerFile))
        try fault(.afterOptimizer)
        let manifest = CheckpointManifest(
            formatVersion: CheckpointManifest.currentFormatVersion, step: state.step,
            samplesConsumed: state.samplesConsumed, seed: config.seed, config: config, membershipHistory: membership,
            files: [Self.modelFile: digest(model), Self.optimizerFile: digest(optimizer)],
            stateSHA256: state.sha256(), createdAt: ISO8601DateFormatter().string(from: Date()))
        try DurableFiles.write(Self.encodeManifest(manifest), to: temporary.appendingPathComponent(Self.manifestFile))
        try DurableFiles.syncDirectory(temporary)
        try fault(.afterManifest)

        let final = directory.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: final.path) {
            // Same step written again (e.g. a final checkpoint on SIGTERM right after a periodic one).
            let old = directory.appendingPathComponent(".tmp-replaced-\(name)-\(getpid())")
            try DurableFiles.rename(final, to: old)
            try DurableFiles.rename(temporary, to: final)
            try? FileManager.default.removeItem(at: old)
        } else {
            try DurableFiles.rename(temporary, to: final)
        }
        try DurableFiles.syncDirectory(directory)
        try fault(.afterRename)
        try DurableFiles.replaceSymlink(directory.appendingPathComponent("latest"), target: name)
        try DurableFiles.syncDirectory(directory)
        prune()
        return final
    }

    /// Model parameters under their PyTorch names; AdamW moments as `exp_avg.<name>` / `exp_avg_sq.<name>`
    /// (torch.optim naming), both with the step in the metadata.
    static func encodeTensors(_ state: TrainingState) -> (model: Data, optimizer: Data) {
        let views = state.arena.layout.views
        func items(_ storage: FloatStorage, prefix: String) -> [SafeTensors.Item] {
            storage.withUnsafeBufferPointer { all in
                views.map { SafeTensors.Item(name: prefix + $0.name, shape: $0.shape, values: Array(all[$0.range])) }
            }
        }
        let metadata = ["format": "neighbormae", "step": String(state.step)]
        let model = SafeTensors.encode(items(state.arena.parameters, prefix: ""), metadata: metadata)
        let optimizer = SafeTensors.encode(items(state.arena.firstMoment, prefix: "exp_avg.")
                                           + items(state.arena.secondMoment, prefix: "exp_avg_sq."), metadata: metadata)
        return (model, optimizer)
    }

    static func encodeManifest(_ manifest: CheckpointManifest) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try! encoder.encode(manifest)  // plain Codable values: encoding cannot fail
    }

    private func digest(_ data: Data) -> CheckpointManifest.FileDigest {
        CheckpointManifest.FileDigest(bytes: data.count, sha256: hexString(SHA256.hash(data: data)))
    }

    private func createDirectoryIfNeeded() throws(CheckpointError) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .io("create \(directory.path): \(error)", errno: EIO)
        }
    }

    /// Leftovers of interrupted writes. Only this run's coordinator writes here, so no other writer races.
    private func removeTemporaryDirectories() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name.hasPrefix(".tmp-") {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    /// Deletes all but the newest `keep` checkpoint directories. The newest was just verified-written,
    /// so the only valid checkpoint is never deleted.
    private func prune() {
        for url in checkpointDirectories().dropFirst(keep) {
            try? FileManager.default.removeItem(at: url)
        }
    }

    // MARK: - Listing

    /// The checkpoints a user means by `path`, newest first: the checkpoint itself when `path` is one (it
    /// holds a manifest, or is named `step-*`; `latest` resolves to its target), else the `step-*` folders
    /// of `path/checkpoints` (a run directory) or of `path` (a checkpoints folder). Empty when none.
    public static func checkpoints(under path: URL) -> [URL] {
        let files = FileManager.default
        if files.fileExists(atPath: path.appendingPathComponent(manifestFile).path)
            || path.lastPathComponent.hasPrefix("step-") {
            return [path.resolvingSymlinksInPath()]
        }
        let nested = path.appendingPathComponent("checkpoints")
        return CheckpointStore(directory: files.fileExists(atPath: nested.path) ? nested : path).checkpointDirectories()
    }

    /// Checkpoint directories (`step-*`), newest step first. Includes invalid ones; loading verifies.
    public func checkpointDirectories() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix("step-") && Int($0.dropFirst(5)) != nil }
            .sorted { Int($0.dropFirst(5))! > Int($1.dropFirst(5))! }
            .map { directory.appendingPathComponent($0) }
    }
}
