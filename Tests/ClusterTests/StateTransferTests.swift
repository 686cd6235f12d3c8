import Cluster
import Comm
import NN
import TensorCore
import Testing
import Training
import Wire

/// Donor -> joiner state streaming: bit-exact copies at any chunk size, and refusal of anything else.
@Suite("State transfer")
struct StateTransferTests {
    static let run = RunID(high: 5, low: 6)

    /// Parameters with alignment padding between them, and moments that differ from the parameters.
    static func arena(seed: UInt64) -> ParameterArena {
        var layout = ParameterLayout()
        layout.register("patch_embed.weight", shape: [7, 5], initializer: .xavierUniform(fanIn: 5, fanOut: 7))
        layout.register("patch_embed.bias", shape: [7], initializer: .constant(0))
        layout.register("norm.weight", shape: [33], initializer: .normal(std: 1))
        let arena = ParameterArena(layout: layout, seed: seed)
        var stream = CounterRNG(seed: seed).stream(7, 7)
        for storage in [arena.firstMoment, arena.secondMoment] {
            storage.withUnsafeMutableBufferPointer { stream.fillNormal($0, mean: 0, std: 1) }
        }
        return arena
    }

    /// Streams a donor state over an in-process PUSH-like transport; returns every message the joiner got.
    static func stream(_ state: TrainingState,
                       chunkBytes: Int) throws -> (messages: [WireMessage<Frame>], digest: [UInt8]) {
        let network = InProcessNetwork()
        let joiner = InProcessTransport(name: "joiner", network: network, expectedRunID: run, capacity: 10_000)
        let donor = InProcessTransport(name: "donor", network: network, defaultPeer: "joiner", expectedRunID: run)
        let digest = try StateSender.send(state, over: donor, runID: run, epoch: 3, chunkBytes: chunkBytes,
                                          timeout: .seconds(1))
        var messages: [WireMessage<Frame>] = []
        while let received = try joiner.receive(timeout: .milliseconds(50)) { messages.append(received.message) }
        return (messages, digest)
    }

    func bits(_ arena: ParameterArena) -> [[UInt32]] {
        [arena.parameters, arena.firstMoment, arena.secondMoment].map { storage in
            storage.withUnsafeBufferPointer { all in arena.layout.views.flatMap { all[$0.range].map(\.bitPattern) } }
        }
    }

    @Test("the joiner ends with the donor's exact state and hash, whatever the chunk size",
          arguments: [1, 3, 64, 1000, 1 << 20])
    func roundTrip(chunkBytes: Int) throws {
        let donor = TrainingState(step: 7, samplesConsumed: 448, arena: Self.arena(seed: 1))
        let (messages, digest) = try Self.stream(donor, chunkBytes: chunkBytes)
        let receiver = StateReceiver(step: 7, arena: Self.arena(seed: 2))
        var result: TrainingState?
        for message in messages { result = try receiver.accept(message) }
        let state = try #require(result)
        #expect(state.samplesConsumed == 448 && state.step == 7)
        #expect(state.sha256Digest() == digest && digest == donor.sha256Digest())
        #expect(bits(receiver.arena) == bits(donor.arena))
    }

    @Test("a corrupted, missing, reordered or foreign chunk is refused")
    func refusals() throws {
        let donor = TrainingState(step: 7, samplesConsumed: 448, arena: Self.arena(seed: 1))
        let (messages, _) = try Self.stream(donor, chunkBytes: 100)
        #expect(messages.count > 4)
        func feed(_ list: [WireMessage<Frame>], step: Int = 7) throws(StateTransferError) {
            let receiver = StateReceiver(step: step, arena: Self.arena(seed: 2))
            for message in list { _ = try receiver.accept(message) }
        }
        // A flipped byte that got past the transport (the receiver's own hash check catches it).
        var corrupted = messages
        let original = corrupted[2].payload[0].bytes
        var flipped = original
        flipped[5] ^= 0x40
        corrupted[2].payload = [Frame(flipped)]
        #expect(throws: StateTransferError.hashMismatch(step: 7)) { try feed(corrupted) }
        // A missing chunk in the middle, and a stream that ends early.
        var missing = messages
        missing.remove(at: 1)
        #expect(throws: StateTransferError.self) { try feed(missing) }
        var early = messages
        early.remove(at: early.count - 2)
        #expect(throws: StateTransferError.incomplete(received: 100 * (messages.count - 2),
                                                      total: StateImage(layout: donor.arena.layout).byteCount)) {
            try feed(early)
        }
        // Chunks of another step.
        #expect(throws: StateTransferError.self) { try feed(messages, step: 8) }
    }
}

@Suite("State stream filter")
struct StateStreamFilterTests {
    static func chunk(step: UInt64, index: UInt32) -> Body {
        .stateChunk(StateChunk(step: step, totalBytes: 100, chunkIndex: index, chunkCount: 4,
                               offset: UInt64(index) * 25))
    }

    @Test("a joiner starts at chunk 0 of its boundary or later, and skips everything else without trapping")
    func decisions() {
        let first = Self.chunk(step: 7, index: 0)
        #expect(StateStreamFilter.decide(first, expecting: 5, assembling: nil) == .start(step: 7))
        #expect(StateStreamFilter.decide(Self.chunk(step: 4, index: 0), expecting: 5, assembling: nil) == .skip,
                "a stream older than the Welcome")
        #expect(StateStreamFilter.decide(Self.chunk(step: 7, index: 2), expecting: 5, assembling: nil) == .skip,
                "the middle of a stream whose start was missed")
        #expect(StateStreamFilter.decide(Self.chunk(step: 7, index: 2), expecting: 5, assembling: 7) == .accept)
        #expect(StateStreamFilter.decide(Self.chunk(step: 8, index: 1), expecting: 5, assembling: 7) == .skip)
        let restart = Self.chunk(step: 8, index: 0)
        #expect(StateStreamFilter.decide(restart, expecting: 5, assembling: 7) == .start(step: 8),
                "a new donor restarts the assembly")
        let done = Body.stateDone(StateDone(step: 7, totalBytes: 100, sha256: [UInt8](repeating: 1, count: 32)))
        #expect(StateStreamFilter.decide(done, expecting: 5, assembling: 7) == .accept)
        #expect(StateStreamFilter.decide(done, expecting: 5, assembling: nil) == .skip)
        #expect(StateStreamFilter.decide(.commit(Commit(step: 7)), expecting: 5, assembling: 7) == .skip)
        let huge = Body.stateChunk(StateChunk(step: .max, totalBytes: 1, chunkIndex: 1, chunkCount: 2, offset: 0))
        #expect(StateStreamFilter.decide(huge, expecting: 5, assembling: nil) == .skip)
    }
}
