import Foundation
import NN
import TensorCore
import Testing
import Training

/// Checkpoint files: round trip, crash at every write phase, corruption, pruning, wrong layouts.
@Suite("Checkpoint store")
struct CheckpointStoreTests {
    /// A small layout with odd sizes (alignment padding between parameters).
    static func layout(extra: Bool = false) -> ParameterLayout {
        var layout = ParameterLayout()
        layout.register("blocks.0.attn.qkv.weight", shape: [6, 5], initializer: .xavierUniform(fanIn: 5, fanOut: 6))
        layout.register("blocks.0.attn.qkv.bias", shape: [6], initializer: .constant(0))
        layout.register("norm.weight", shape: [17], initializer: .constant(1))
        if extra { layout.register("head.weight", shape: [3], initializer: .constant(0)) }
        return layout
    }

    /// An arena whose parameters and moments all differ (seeded), as after some training.
    static func trainedArena(seed: UInt64) -> ParameterArena {
        let arena = ParameterArena(layout: layout(), seed: seed)
        var stream = CounterRNG(seed: seed).stream(99, 0)
        for storage in [arena.firstMoment, arena.secondMoment] {
            storage.withUnsafeMutableBufferPointer { stream.fillNormal($0, mean: 0, std: 1) }
        }
        return arena
    }

    func temporaryRun() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func bits(_ storage: FloatStorage, _ layout: ParameterLayout) -> [UInt32] {
        storage.withUnsafeBufferPointer { all in layout.views.flatMap { all[$0.range].map(\.bitPattern) } }
    }

    @Test("a written checkpoint loads back bit for bit, with its manifest and the latest link")
    func roundTrip() throws {
        let run = temporaryRun()
        defer { try? FileManager.default.removeItem(at: run) }
        let store = CheckpointStore(directory: run.appendingPathComponent("checkpoints"))
        let arena = Self.trainedArena(seed: 7)
        let state = TrainingState(step: 12, samplesConsumed: 768, arena: arena)
        let history = [MembershipRecord(epoch: 1, fromStep: 0, workers: [0, 1], reason: "start")]
        let url = try store.write(state, config: TrainingConfig(), membership: history)
        #expect(url.lastPathComponent == "step-0000012")
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: store.directory.appendingPathComponent("latest").path)
        #expect(link == "step-0000012")

        let fresh = ParameterArena(layout: Self.layout(), seed: 1)
        let loaded = try store.loadNewestValid(into: fresh)
        #expect(loaded.rejected.isEmpty)
        #expect(loaded.manifest.step == 12 && loaded.manifest.samplesConsumed == 768)
        #expect(loaded.manifest.membershipHistory == history)
        #expect(loaded.manifest.stateSHA256 == state.sha256())
        for (a, b) in [(arena.parameters, fresh.parameters), (arena.firstMoment, fresh.firstMoment),
                       (arena.secondMoment, fresh.secondMoment)] {
            #expect(bits(a, arena.layout) == bits(b, arena.layout))
        }
    }

    /// An interrupted write (the hook throws where a crash could happen) never hides the previous
    /// checkpoint; once the directory is renamed, the new one is complete and wins.
    @Test("a write interrupted at any phase leaves a loadable checkpoint", arguments: CheckpointWritePhase.allCases)
    func interruptedWrite(phase: CheckpointWritePhase) throws {
        struct Crash: Error {}
        let run = temporaryRun()
        defer { try? FileManager.default.removeItem(at: run) }
        let store = CheckpointStore(directory: run.appendingPathComponent("checkpoints"))
        try store.write(TrainingState(step: 1, samplesConsumed: 64, arena: Self.trainedArena(seed: 1)),
                        config: TrainingConfig())
        #expect(throws: CheckpointError.self) {
            try store.write(TrainingState(step: 2, samplesConsumed: 128, arena: Self.trainedArena(seed: 2)),
                            config: TrainingConfig()) { current throws(CheckpointError) in
                if current == phase { throw .io("simulated crash at \(phase)", errno: EINTR) }
            }
        }
        let loaded = try store.loadNewestValid(into: ParameterArena(layout: Self.layout(), seed: 0))
        #expect(loaded.manifest.step == (phase == .afterRename ? 2 : 1))
        #expect(loaded.rejected.isEmpty)

        // The next write clears the leftovers of the interrupted one.
        try store.write(TrainingState(step: 3, samplesConsumed: 192, arena: Self.trainedArena(seed: 3)),
                        config: TrainingConfig())
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.directory.path)
            .filter { $0.hasPrefix(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    enum Damage: String, CaseIterable { case flipModelByte, truncateOptimizer, garbageManifest, deleteManifest }

    @Test("a damaged newest checkpoint is reported and the previous one is used", arguments: Damage.allCases)
    func corruption(damage: Damage) throws {
        let run = temporaryRun()
        defer { try? FileManager.default.removeItem(at: run) }
        let store = CheckpointStore(directory: run.appendingPathComponent("checkpoints"))
        let older = Self.trainedArena(seed: 1)
        try store.write(TrainingState(step: 1, samplesConsumed: 64, arena: older), config: TrainingConfig())
        let newest = try store.write(TrainingState(step: 2, samplesConsumed: 128, arena: Self.trainedArena(seed: 2)),
                                     config: TrainingConfig())
        switch damage {
        case .flipModelByte:
            let file = newest.appendingPathComponent(CheckpointStore.modelFile)
            var data = try Data(contentsOf: file)
            data[data.count - 5] ^= 0x10
            try data.write(to: file)
        case .truncateOptimizer:
            let file = newest.appendingPathComponent(CheckpointStore.optimizerFile)
            try Data(try Data(contentsOf: file).prefix(100)).write(to: file)
        case .garbageManifest:
            try Data("{\"formatVersion\": 1, \"step\": ".utf8).write(to: newest.appendingPathComponent("manifest.json"))
        case .deleteManifest:
            try FileManager.default.removeItem(at: newest.appendingPathComponent("manifest.json"))
        }
        var logged: [String] = []
        let fresh = ParameterArena(layout: Self.layout(), seed: 0)
        let loaded = try store.loadNewestValid(into: fresh) { logged.append($0) }
        #expect(loaded.manifest.step == 1)
        #expect(loaded.rejected.count == 1 && logged.count == 1)
        #expect(loaded.rejected[0].contains("step-0000002"))
        #expect(bits(fresh.parameters, fresh.layout) == bits(older.parameters, older.layout))
        #expect(throws: CheckpointError.self) { try CheckpointStore.verify(newest) }
    }

    @Test("only the newest `keep` checkpoints remain after a write")
    func pruning() throws {
        let run = temporaryRun()
        defer { try? FileManager.default.removeItem(at: run) }
        let store = CheckpointStore(directory: run.appendingPathComponent("checkpoints"), keep: 2)
        for step in 1...4 {
            try store.write(TrainingState(step: step * 10, samplesConsumed: step * 640, arena: Self.trainedArena(seed: 1)),
                            config: TrainingConfig())
        }
        #expect(store.checkpointDirectories().map(\.lastPathComponent) == ["step-0000040", "step-0000030"])
    }

    @Test("a checkpoint of another model is refused with a hint; an empty directory has no valid checkpoint")
    func incompatible() throws {
        let run = temporaryRun()
        defer { try? FileManager.default.removeItem(at: run) }
        let store = CheckpointStore(directory: run.appendingPathComponent("checkpoints"))
        #expect(throws: CheckpointError.self) { try store.loadNewestValid(into: Self.trainedArena(seed: 1)) }
        try store.write(TrainingState(step: 5, samplesConsumed: 1, arena: Self.trainedArena(seed: 1)),
                        config: TrainingConfig())
        let other = ParameterArena(layout: Self.layout(extra: true), seed: 0)
        do {
            _ = try store.loadNewestValid(into: other)
            Issue.record("a checkpoint with a missing parameter loaded")
        } catch {
            guard case let .noValidCheckpoint(_, rejected) = error else { throw error }
            #expect(rejected.count == 1 && rejected[0].contains("head.weight") && rejected[0].contains("hint"))
        }
    }
}
