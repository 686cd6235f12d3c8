import Crypto
import Foundation
import NN

// MARK: - The durable state of a run: what a checkpoint saves and a joining worker receives

/// Step, data cursor, parameters and AdamW moments. A view on a live arena, not a copy.
public struct TrainingState {
    /// Optimizer steps completed (the next step to run).
    public var step: Int
    /// Global samples consumed by those steps.
    public var samplesConsumed: Int
    public let arena: ParameterArena

    public init(step: Int, samplesConsumed: Int, arena: ParameterArena) {
        self.step = step
        self.samplesConsumed = samplesConsumed
        self.arena = arena
    }

    /// Hex SHA-256 over step, cursor and every parameter's values, first and second moments (in layout
    /// order, little-endian float bits, alignment padding excluded). Two replicas agree on it exactly
    /// when their states are bit-identical.
    public func sha256() -> String {
        hexString(sha256Digest())
    }

    /// The same hash as raw bytes (what StateDone and Heartbeat carry).
    public func sha256Digest() -> [UInt8] {
        var hasher = SHA256()
        for value in [UInt64(step), UInt64(samplesConsumed)] {
            withUnsafeBytes(of: value.littleEndian) { hasher.update(bufferPointer: $0) }
        }
        for storage in [arena.parameters, arena.firstMoment, arena.secondMoment] {
            storage.withUnsafeBufferPointer { all in
                for view in arena.layout.views {
                    hasher.update(bufferPointer: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: all[view.range])))
                }
            }
        }
        return Array(hasher.finalize())
    }
}

/// Lower-case hex of a digest.
func hexString(_ digest: some Sequence<UInt8>) -> String {
    digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}
