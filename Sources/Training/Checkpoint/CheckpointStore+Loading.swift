import Crypto
import Foundation
import NN
import TensorCore

// MARK: - Verified loading with fallback to older checkpoints

/// A checkpoint that verified and loaded, and the newer ones that did not (with reasons).
public struct LoadedCheckpoint: Sendable {
    public let url: URL
    public let manifest: CheckpointManifest
    /// One line per newer checkpoint that was skipped, newest first.
    public let rejected: [String]
}

extension CheckpointStore {
    /// Loads the newest checkpoint that verifies into `arena`, skipping (and reporting through `log`)
    /// every newer one that does not. Throws `noValidCheckpoint` when none does; the arena's contents
    /// are then unspecified.
    public func loadNewestValid(into arena: ParameterArena,
                                log: (String) -> Void = { _ in }) throws(CheckpointError) -> LoadedCheckpoint {
        var rejected: [String] = []
        for url in checkpointDirectories() {
            do throws(CheckpointError) {
                let manifest = try Self.load(url, into: arena)
                return LoadedCheckpoint(url: url, manifest: manifest, rejected: rejected)
            } catch {
                rejected.append(error.description)
                log("\(error); falling back to the previous checkpoint")
            }
        }
        throw .noValidCheckpoint(directory, rejected: rejected)
    }

    /// Checks one checkpoint directory without loading tensors: the manifest parses, has the current
    /// format version and names both data files, and each file has the recorded size and SHA-256.
    @discardableResult
    public static func verify(_ url: URL) throws(CheckpointError) -> CheckpointManifest {
        try verifiedFiles(url).manifest
    }

    /// The manifest and the verified contents of both data files (each file is read once).
    static func verifiedFiles(_ url: URL) throws(CheckpointError) -> (manifest: CheckpointManifest,
                                                                       model: Data, optimizer: Data) {
        let manifest = try readManifest(url)
        var contents: [Data] = []
        for name in [modelFile, optimizerFile] {
            guard let expected = manifest.files[name] else { throw .badManifest(url, "does not list \(name)") }
            let data = try readFile(url.appendingPathComponent(name), in: url)
            guard data.count == expected.bytes, hexString(SHA256.hash(data: data)) == expected.sha256 else {
                throw .checksumMismatch(url, file: name)
            }
            contents.append(data)
        }
        return (manifest, contents[0], contents[1])
    }

    /// Verifies `url` and loads parameters and moments into `arena`, whose layout must match the
    /// checkpoint's tensors by name and shape. Finally checks the loaded state's SHA-256.
    @discardableResult
    public static func load(_ url: URL, into arena: ParameterArena) throws(CheckpointError) -> CheckpointManifest {
        let files = try verifiedFiles(url)
        let manifest = files.manifest
        let model = try tensors(files.model, url, modelFile)
        let optimizer = try tensors(files.optimizer, url, optimizerFile)
        for view in arena.layout.views {
            try copy(model, view.name, view, into: arena.parameters, url)
            try copy(optimizer, "exp_avg." + view.name, view, into: arena.firstMoment, url)
            try copy(optimizer, "exp_avg_sq." + view.name, view, into: arena.secondMoment, url)
        }
        let expectedNames = arena.layout.views.count
        guard model.names.count == expectedNames, optimizer.names.count == 2 * expectedNames else {
            throw .incompatible(url, "holds \(model.names.count) parameters, the model has \(expectedNames) "
                                + "(hint: resume with the model config the run was started with)")
        }
        let state = TrainingState(step: manifest.step, samplesConsumed: manifest.samplesConsumed, arena: arena)
        guard state.sha256() == manifest.stateSHA256 else {
            throw .incompatible(url, "loaded state hash differs from the manifest's stateSHA256")
        }
        return manifest
    }

    // MARK: - Pieces

    static func readManifest(_ url: URL) throws(CheckpointError) -> CheckpointManifest {
        let data = try readFile(url.appendingPathComponent(manifestFile), in: url)
        let manifest: CheckpointManifest
        do {
            manifest = try JSONDecoder().decode(CheckpointManifest.self, from: data)
        } catch {
            throw .badManifest(url, "manifest.json does not parse: \(error)")
        }
        guard manifest.formatVersion == CheckpointManifest.currentFormatVersion else {
            throw .badManifest(url, "format version \(manifest.formatVersion), this build reads "
                               + "\(CheckpointManifest.currentFormatVersion)")
        }
        guard manifest.step >= 0, manifest.samplesConsumed >= 0, url.lastPathComponent == name(step: manifest.step)
        else {
            throw .badManifest(url, "step \(manifest.step) does not match the directory name")
        }
        return manifest
    }

    private static func readFile(_ file: URL, in url: URL) throws(CheckpointError) -> Data {
        do {
            return try Data(contentsOf: file)
        } catch {
            throw .badManifest(url, "cannot read \(file.lastPathComponent): \(error.localizedDescription)")
        }
    }

    private static func tensors(_ data: Data, _ url: URL, _ name: String) throws(CheckpointError) -> SafeTensors {
        do {
            return try SafeTensors(bytes: data)
        } catch {
            throw .incompatible(url, "\(name): \(error)")
        }
    }

    private static func copy(_ file: SafeTensors, _ name: String, _ view: ParameterView, into storage: FloatStorage,
                             _ url: URL) throws(CheckpointError) {
        guard let entry = file.entries[name], entry.shape == view.shape, entry.dtype == .f32 else {
            let found = file.entries[name].map { "\($0.dtype) \($0.shape)" } ?? "nothing"
            throw .incompatible(url, "\(name): expected shape \(view.shape), found \(found) "
                                + "(hint: resume with the model config the run was started with)")
        }
        let values: [Float]
        do { values = try file.floats(name) } catch { throw .incompatible(url, "\(name): \(error)") }
        storage.withUnsafeMutableBufferPointer { all -> Void in
            values.withUnsafeBufferPointer { source in
                _ = UnsafeMutableBufferPointer(rebasing: all[view.range]).update(fromContentsOf: source)
            }
        }
    }
}
