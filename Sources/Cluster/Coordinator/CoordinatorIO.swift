import Comm
import Wire

// MARK: - What goes into and comes out of the coordinator's state machine

/// An input to `CoordinatorState.on(_:now:)`.
public enum CoordinatorEvent: Sendable, Equatable {
    /// A validated message from a control-plane peer (the transport has checked run id, version, CRC).
    case message(from: PeerID, envelope: Envelope, body: Body)
    /// Time passed; the shell sends one at least every heartbeat interval.
    case tick
    /// The shell finished (or gave up) writing the checkpoint of `step` that a `checkpoint` directive asked for.
    case checkpointWritten(step: Int, error: String?)
    /// The shell loaded the newest valid checkpoint after a `reloadCheckpoint` directive.
    case checkpointLoaded(step: Int, stateSHA256: [UInt8])
    /// SIGTERM or SIGINT: abort the step in flight, write a final checkpoint of the committed state, end the run.
    case terminate
}

/// An output of the state machine, carried out by the shell in order.
public enum CoordinatorDirective: Sendable, Equatable {
    /// Send `body` to `peer` in an envelope with this membership epoch and step.
    case send(to: PeerID, body: Body, epoch: UInt64, step: UInt64)
    /// Ask worker `source` (at `peer`) for its state after `step` steps and write it as a checkpoint.
    case checkpoint(step: Int, source: UInt32, peer: PeerID)
    /// Stream the checkpointed state of `step` to a joiner's ring receiver (the coordinator is the donor).
    case streamCheckpointState(step: Int, joiner: UInt32, endpoint: String, publicKey: [UInt8])
    /// Every replica of the state is gone: load the newest valid checkpoint and report `checkpointLoaded`.
    case reloadCheckpoint
    /// Step `summary.step` is committed: record it durably before the Commit messages that follow go out.
    case committed(StepSummary)
    /// A restarted coordinator chose where the run continues (`source` says why): anything recorded for
    /// this step or later belongs to steps that run again.
    case continuing(fromStep: Int, source: String)
    /// The membership changed (log it; record it in the next checkpoint).
    case membershipChanged(MembershipChange)
    /// A line for the log, already tagged.
    case log(String)
    /// Every step is committed and the final checkpoint written; the shell may exit.
    case finished
}

/// What the shell logs for a committed step.
public struct StepSummary: Sendable, Equatable {
    public var step: Int
    public var epoch: UInt64
    public var workers: [UInt32]
    /// Mean L_plain over the global batch (Σ loss sums / Σ weights), and L_weighted likewise.
    public var loss: Double
    public var weightedLoss: Double = 0
    public var learningRate: Double
    /// Global samples consumed after this step.
    public var samplesConsumed: Int
    /// The virtual shards each worker computed (together exactly 0..<V).
    public var shards: [UInt32: [UInt32]]
    /// Attempts it took (1 = no abort).
    public var attempts: Int
    /// Per worker: compute and all-reduce milliseconds it reported for this step.
    public var computeMs: [UInt32: Double] = [:]
    public var reduceMs: [UInt32: Double] = [:]
    /// Workers whose gradient entered a committed step for the first time, with the milliseconds since
    /// they registered (elastic join latency: register → first contributing step).
    public var joinLatencyMs: [UInt32: Millis] = [:]
}

/// A new membership epoch.
public struct MembershipChange: Sendable, Equatable {
    public var epoch: UInt64
    public var fromStep: Int
    public var workers: [UInt32]
    public var reason: String
}
