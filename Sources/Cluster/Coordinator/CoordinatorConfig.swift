import NN
import Wire

/// Monotonic milliseconds, supplied by the shell (the state machines never read a clock).
public typealias Millis = Int64

// MARK: - What the coordinator's state machine needs to know about the run

/// Run shape, deadlines and policies of the coordinator. Deadlines are in milliseconds of the
/// shell's monotonic clock.
public struct CoordinatorConfig: Sendable, Equatable {
    /// The run id every envelope carries (sent to joiners in Welcome).
    public var runID: RunID
    /// Optimizer steps of the run.
    public var totalSteps: Int
    /// V: fixed virtual shards per step (SYSTEM.md §4), and pairs per step.
    public var virtualShards: Int
    public var batchSize: Int
    /// Learning rate per step.
    public var schedule: LearningRateSchedule
    /// The first step (of a fresh or resumed run) waits until this many workers are in the ring; later
    /// steps run with whoever survives.
    public var startWorkers = 1
    /// A restarted coordinator (resume) first waits this long, or until `startWorkers` have joined, for
    /// surviving workers to announce the state they hold; if the most advanced of them agree, the run
    /// continues from there instead of the checkpoint (SYSTEM.md §5). 0: a fresh run, no waiting.
    public var recoveryWindow: Millis = 0
    /// A worker silent for this long is evicted (SYSTEM.md §3: well under 5 s).
    public var heartbeatTimeout: Millis = 3000
    /// How often workers send heartbeats (told in Welcome).
    public var heartbeatInterval: Millis = 500
    /// A step not reported by every member within this time is aborted.
    public var stepTimeout: Millis = 120_000
    /// A joiner that has not verified its state within this time is evicted (it may join again).
    public var transferTimeout: Millis = 60_000
    /// A checkpoint not written within this time is abandoned (the run goes on; the next one retries).
    public var checkpointTimeout: Millis = 120_000
    /// Steps between checkpoints (0 = only at the end).
    public var checkpointEvery = 100
    /// All-reduce chunk size and mode told in every plan.
    public var chunkBytes: UInt64 = 1 << 20
    public var exactAllReduce = true
    /// Chunk size of state transfers to joiners.
    public var transferChunkBytes: UInt64 = 4 << 20
    /// Joiners must present these (SYSTEM.md §5); a mismatch is refused with an Error message.
    public var buildFingerprint: String
    public var datasetFingerprint: [UInt8]
    /// The resolved configuration as JSON, sent to every worker in Welcome.
    public var configJSON: String

    public init(runID: RunID, totalSteps: Int, virtualShards: Int, batchSize: Int, schedule: LearningRateSchedule,
                buildFingerprint: String, datasetFingerprint: [UInt8], configJSON: String) {
        precondition(totalSteps >= 1 && virtualShards >= 1 && batchSize % virtualShards == 0,
                     "CoordinatorConfig: invalid run shape \(totalSteps) steps, V \(virtualShards), B \(batchSize)")
        self.runID = runID
        self.totalSteps = totalSteps
        self.virtualShards = virtualShards
        self.batchSize = batchSize
        self.schedule = schedule
        self.buildFingerprint = buildFingerprint
        self.datasetFingerprint = datasetFingerprint
        self.configJSON = configJSON
    }
}
