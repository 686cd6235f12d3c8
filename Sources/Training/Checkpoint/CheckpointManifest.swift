import Foundation

// MARK: - manifest.json: what a checkpoint directory holds, and how to check it

/// The self-description of one checkpoint (STYLE.md rule 9). Written last, so a directory without a
/// readable manifest is not a checkpoint.
public struct CheckpointManifest: Codable, Sendable, Equatable {
    /// Bumped on any incompatible change; loaders refuse other versions.
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    /// Optimizer steps completed: training resumes at this step index.
    public var step: Int
    /// Data cursor: global samples consumed by those steps.
    public var samplesConsumed: Int
    /// The run's seed (parameters and every data draw derive from it).
    public var seed: UInt64
    /// The resolved configuration of the run.
    public var config: TrainingConfig
    /// Who trained which steps (empty for single-process runs).
    public var membershipHistory: [MembershipRecord]
    /// Every data file of the checkpoint by name, with its size and SHA-256.
    public var files: [String: FileDigest]
    /// `TrainingState.sha256` of the saved state: equal to what live workers report for this step.
    public var stateSHA256: String
    /// ISO 8601 time of writing (informational).
    public var createdAt: String

    /// Size and hex SHA-256 of one file.
    public struct FileDigest: Codable, Sendable, Equatable {
        public var bytes: Int
        public var sha256: String
    }
}

/// One membership epoch of a distributed run: the workers in the ring from `fromStep` on.
public struct MembershipRecord: Codable, Sendable, Equatable {
    public var epoch: UInt64
    public var fromStep: Int
    public var workers: [UInt32]
    /// Why the membership changed ("start", "joined 4", "evicted 2: heartbeat timeout", ...).
    public var reason: String

    public init(epoch: UInt64, fromStep: Int, workers: [UInt32], reason: String) {
        self.epoch = epoch
        self.fromStep = fromStep
        self.workers = workers
        self.reason = reason
    }
}
