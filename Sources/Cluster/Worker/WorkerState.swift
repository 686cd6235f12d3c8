import Wire

// MARK: - A worker as a pure state machine (STYLE.md rule 6)

/// A worker's side of membership and the step transaction (SYSTEM.md §3, §5): events in, directives
/// out, time passed in. Computation, the ring and state streaming are directives for the shell.
///
/// The replica advances only on Commit: a reduced gradient waits in `reported` until the coordinator
/// commits or aborts it, so nothing is applied twice and an aborted attempt leaves no trace.
public struct WorkerState: Sendable {
    public enum Phase: Sendable, Equatable {
        /// Join sent at `since`, no Welcome yet.
        case joining(since: Millis)
        /// Welcomed mid-run at `step`: waiting for a donor's state (of `step` or of a later boundary).
        case receivingState(step: Int)
        /// Ready for a plan of step `committedSteps`.
        case idle
        /// Computing and all-reducing an attempt.
        case running(step: Int, epoch: UInt64, learningRate: Double)
        /// Reported the attempt; waiting for Commit or Abort.
        case reported(step: Int, epoch: UInt64, learningRate: Double)
        /// Applying a committed update.
        case applying(step: Int)
        /// Sent Leave at `since` (SIGTERM); exits on the coordinator's answer or after `Timing.leaveWait`.
        case leaving(since: Millis)
        case exited
    }

    /// Deadlines of the worker side.
    public struct Timing: Sendable, Equatable {
        /// Join is sent again after this long without a Welcome.
        public var joinRetry: Millis = 2000
        /// Without any message from the coordinator for this long, the worker keeps its state and joins again.
        public var coordinatorTimeout: Millis = 10_000
        /// How long a leaving worker waits for the coordinator to acknowledge its Leave.
        public var leaveWait: Millis = 2000
        public init() {}
    }

    public let timing: Timing
    public internal(set) var phase: Phase
    /// Id given by the coordinator (0 before the Welcome).
    public internal(set) var workerID: UInt32 = 0
    /// The run the held state belongs to (zero before the first Welcome).
    public internal(set) var runID = RunID.zero
    /// Steps applied to this replica, and the SHA-256 of its state after them when known (after a transfer;
    /// empty after local updates: hashing the whole state every step would cost a large share of a small
    /// step, so the shell hashes only when it announces the state in a Join).
    public internal(set) var committedSteps: Int
    public internal(set) var stateSHA256: [UInt8]
    var heartbeatInterval: Millis = 500
    var lastHeartbeat: Millis = .min / 2
    var lastHeardFromCoordinator: Millis

    /// A worker holding the state after `committedSteps` steps (0 and the seeded initial state for a
    /// fresh process), that has just sent its Join at `now`.
    public init(committedSteps: Int, stateSHA256: [UInt8], now: Millis, timing: Timing = Timing()) {
        self.timing = timing
        self.committedSteps = committedSteps
        self.stateSHA256 = stateSHA256
        phase = .joining(since: now)
        lastHeardFromCoordinator = now
    }

    // MARK: - Events

    public mutating func on(_ event: WorkerEvent, now: Millis) -> [WorkerDirective] {
        var out: [WorkerDirective] = []
        switch event {
        case let .message(envelope, body):
            lastHeardFromCoordinator = now
            onMessage(envelope, body, now: now, &out)
        case let .stepFinished(step, epoch, outcome):
            onStepFinished(step: step, epoch: epoch, outcome, &out)
        case let .stateReceived(step, hash):
            // The donor streams the state of the boundary at which the transfer starts: the Welcome's step or later.
            guard case let .receivingState(welcomed) = phase, step >= welcomed else { break }
            committedSteps = step
            stateSHA256 = hash
            phase = .idle
            out.append(.log("[worker \(workerID)] received the state of step \(step)"))
            heartbeat(now: now, &out)   // reports the hash the coordinator verifies
        case let .updateApplied(step, hash):
            guard phase == .applying(step: step) else { break }
            committedSteps = step + 1
            stateSHA256 = hash
            phase = .idle
        case .tick:
            onTick(now: now, &out)
        case .terminate:
            if case let .running(step, _, _) = phase { out.append(.discardStep(step: step)) }
            if case let .reported(step, _, _) = phase { out.append(.discardStep(step: step)) }
            if workerID != 0, phase != .exited {
                // Exiting at once could reset the connection before the Leave is read on the other side:
                // wait for the coordinator's answer (a Leave back) for a moment.
                out.append(.send(body: .leave(Leave(workerID: workerID, reason: "terminated (SIGTERM)")),
                                 epoch: 0, step: UInt64(committedSteps)))
                phase = .leaving(since: now)
            } else {
                phase = .exited
                out.append(.exit(code: 0, reason: "terminated"))
            }
        }
        return out
    }

    private mutating func onTick(now: Millis, _ out: inout [WorkerDirective]) {
        switch phase {
        case .exited:
            return
        case let .leaving(since):
            if now - since > timing.leaveWait {
                phase = .exited
                out.append(.exit(code: 0, reason: "terminated (the coordinator did not answer the Leave)"))
            }
        case let .joining(since) where now - since > timing.joinRetry:
            phase = .joining(since: now)
            out.append(.log("[worker] no Welcome after \(timing.joinRetry) ms (is the coordinator up at that "
                            + "endpoint, with the same keys?); sending Join again"))
            out.append(.rejoin)
        case .joining:
            break
        default:
            if now - lastHeardFromCoordinator > timing.coordinatorTimeout {
                out.append(.log("[worker \(workerID)] coordinator silent for \(timing.coordinatorTimeout) ms; "
                                + "keeping the state of step \(committedSteps) and joining again"))
                rejoin(now: now, &out)
            } else if now - lastHeartbeat >= heartbeatInterval {
                heartbeat(now: now, &out)
            }
        }
    }

    mutating func heartbeat(now: Millis, _ out: inout [WorkerDirective]) {
        lastHeartbeat = now
        out.append(.send(body: .heartbeat(Heartbeat(workerID: workerID, committedStep: UInt64(committedSteps),
                                                    unixMs: UInt64(max(now, 0)), stateSHA256: stateSHA256)),
                         epoch: 0, step: UInt64(committedSteps)))
    }

    /// Drops whatever is in flight and registers again; the committed state is kept.
    mutating func rejoin(now: Millis, _ out: inout [WorkerDirective]) {
        switch phase {
        case let .running(step, _, _), let .reported(step, _, _): out.append(.discardStep(step: step))
        case .receivingState: out.append(.stopExpectingState)
        default: break
        }
        workerID = 0
        phase = .joining(since: now)
        lastHeardFromCoordinator = now
        out.append(.rejoin)
    }
}
