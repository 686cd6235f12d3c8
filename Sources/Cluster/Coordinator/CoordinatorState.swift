import Comm
import Wire

// MARK: - The coordinator as a pure state machine (STYLE.md rule 6)

/// Membership, the step transaction, elastic join and checkpoint scheduling of one run
/// (SYSTEM.md §2–§6), as a value type: events in, directives out, time passed in. No I/O, no clock.
///
/// Invariants the tests check: steps commit in order, each exactly once; every plan of a step assigns
/// each of the V virtual shards to exactly one member; a failed attempt is aborted on every member and
/// re-planned with the survivors; nobody waits without a deadline.
public struct CoordinatorState: Sendable {
    public let config: CoordinatorConfig
    public internal(set) var members: [UInt32: Member] = [:]
    /// Membership epoch; bumped whenever the ring changes or an attempt is aborted.
    public internal(set) var epoch: UInt64 = 1
    /// The first step not yet committed.
    public internal(set) var nextStep: Int
    public internal(set) var phase: Phase = .idle
    /// Every membership epoch so far (for manifests and logs).
    public internal(set) var history: [MembershipChange] = []
    /// SHA-256 of the state after `nextStep` steps when it is known without asking a worker
    /// (resume from a checkpoint: the coordinator itself is the donor, id 0).
    var checkpointStateHash: [UInt8]?
    var nextWorkerID: UInt32 = 1
    /// Whether any step has been planned (after that, steps run with whoever survives).
    var started = false
    /// Attempts of the step in progress (1 after its first plan).
    var attempts = 0
    /// Steps at which a checkpoint has been written or abandoned.
    var lastCheckpointStep: Int
    /// SIGTERM: end the run after a final checkpoint of the committed state.
    public internal(set) var stopping = false
    /// Registrations, evictions (failures) and leaves (SIGTERM, or a new Join) so far, for metrics.
    public internal(set) var counts = MembershipCounts()

    public struct MembershipCounts: Sendable, Equatable {
        public var joins = 0
        public var evictions = 0
        public var leaves = 0
    }

    public enum Phase: Sendable, Equatable {
        /// A restarted coordinator collects the Joins of surviving workers until the deadline (set by the
        /// first event) or until `startWorkers` joined, then decides where the run continues.
        case gathering(deadline: Millis?)
        /// Between steps: the next `on` call starts whatever is due.
        case idle
        case step(StepRound)
        /// A donor (0 = the coordinator, from a checkpoint) streams the state to a joiner.
        case transfer(Transfer)
        case checkpoint(step: Int, source: UInt32, deadline: Millis)
        /// Waiting for the shell to reload the newest checkpoint (every replica was lost).
        case reloading
        case finished
    }

    /// One attempt at one step.
    public struct StepRound: Sendable, Equatable {
        public var step: Int
        public var epoch: UInt64
        /// Virtual shards per member (every member of the ring has an entry, possibly empty).
        public var assignment: [UInt32: [UInt32]]
        public var reports: [UInt32: StepDone]
        public var deadline: Millis
    }

    /// A state transfer to a joiner; done when the joiner's reported hash equals the donor's.
    public struct Transfer: Sendable, Equatable {
        public var joiner: UInt32
        public var donor: UInt32
        public var step: Int
        public var donorHash: [UInt8]?
        public var joinerHash: [UInt8]?
        public var deadline: Millis
    }

    /// - Parameter resume: the step and state hash of the checkpoint the run continues from, if any.
    public init(config: CoordinatorConfig, resume: (step: Int, stateSHA256: [UInt8])? = nil) {
        self.config = config
        nextStep = resume?.step ?? 0
        checkpointStateHash = resume?.stateSHA256
        lastCheckpointStep = nextStep
        if config.recoveryWindow > 0 { phase = .gathering(deadline: nil) }
    }

    /// Active members in ring order (ascending id: any fixed order works, results do not depend on it).
    public var ring: [UInt32] { members.values.filter { $0.status == .active }.map(\.id).sorted() }

    // MARK: - Events

    /// Applies one event at time `now` and returns what the shell must do, in order.
    public mutating func on(_ event: CoordinatorEvent, now: Millis) -> [CoordinatorDirective] {
        var out: [CoordinatorDirective] = []
        if case .gathering(nil) = phase { phase = .gathering(deadline: now + config.recoveryWindow) }
        switch event {
        case let .message(peer, envelope, body):
            onMessage(from: peer, envelope: envelope, body: body, now: now, &out)
        case .tick:
            checkDeadlines(now: now, &out)
        case let .checkpointWritten(step, error):
            if case .checkpoint(step, _, _) = phase {
                out.append(.log(error.map { "[coordinator] checkpoint of step \(step) failed: \($0)" }
                                ?? "[coordinator] checkpoint of step \(step) written"))
                lastCheckpointStep = step
                phase = .idle
            }
        case let .checkpointLoaded(step, hash):
            if phase == .reloading {
                out.append(.log("[coordinator] every replica was lost; continuing from the checkpoint of step \(step)"))
                nextStep = step
                lastCheckpointStep = step
                checkpointStateHash = hash
                phase = .idle
            }
        case .terminate:
            stop(now: now, &out)
        }
        advance(now: now, &out)
        return out
    }

    private mutating func onMessage(from peer: PeerID, envelope: Envelope, body: Body, now: Millis,
                                    _ out: inout [CoordinatorDirective]) {
        if case let .join(join) = body {
            onJoin(join, from: peer, ofThisRun: envelope.runID == config.runID, now: now, &out)
            return
        }
        guard let id = members.values.first(where: { $0.peer == peer })?.id else {
            // An evicted worker that is still alive (e.g. it was stopped) learns it must join again.
            out.append(.log("[coordinator] ignored \(body.type) from unregistered peer \(peer)"))
            if body.type != .leave {
                out.append(.send(to: peer, body: .error(ErrorReport(code: ErrorCode.notAMember,
                                 text: "not a member of this run (evicted?); join again")),
                                 epoch: epoch, step: UInt64(nextStep)))
            }
            return
        }
        members[id]?.lastHeard = now
        switch body {
        case let .heartbeat(beat) where beat.workerID == id:
            onHeartbeat(beat, from: id, now: now, &out)
        case let .stepDone(done):
            onStepDone(done, from: id, envelope: envelope, now: now, &out)
        case let .stateDone(done):
            onDonorFinished(done, from: id, now: now, &out)
        case let .leave(leave) where leave.workerID == id:
            remove([id], reason: "worker \(id) left: \(leave.reason)", evicted: false, now: now, &out)
            out.append(.send(to: peer, body: .leave(Leave(workerID: id, reason: "goodbye")), epoch: epoch,
                             step: UInt64(nextStep)))   // it exits once it has this: nothing it sent is lost
        case .stateChunk:
            break   // a checkpoint upload, assembled by the shell; it still counts as a sign of life
        case let .error(report):
            out.append(.log("[coordinator] worker \(id) reports error \(report.code): \(report.text)"))
        default:
            out.append(.log("[coordinator] ignored \(body.type) from worker \(id) (unexpected or wrong worker id)"))
        }
    }

    private mutating func checkDeadlines(now: Millis, _ out: inout [CoordinatorDirective]) {
        let silent = members.values.filter { now - $0.lastHeard > config.heartbeatTimeout }.map(\.id).sorted()
        if !silent.isEmpty {
            remove(silent, reason: "heartbeat timeout (\(config.heartbeatTimeout) ms) of \(silent)", now: now, &out)
        }
        switch phase {
        case let .step(round) where now > round.deadline:
            let missing = round.assignment.keys.filter { round.reports[$0] == nil }.sorted()
            remove(missing, reason: "step \(round.step) not reported within \(config.stepTimeout) ms by \(missing)",
                   now: now, &out)
        case let .transfer(transfer) where now > transfer.deadline:
            remove([transfer.joiner], reason: "joiner \(transfer.joiner) did not verify the state of step "
                   + "\(transfer.step) in time", now: now, &out)
        case let .checkpoint(step, _, deadline) where now > deadline:
            out.append(.log("[coordinator] checkpoint of step \(step) abandoned after \(config.checkpointTimeout) ms"))
            lastCheckpointStep = step
            phase = .idle
        default:
            break
        }
    }

    // MARK: - What to do next

    /// Starts whatever is due when nothing is in progress: finish, checkpoint, a joiner's state
    /// transfer, or the next step.
    mutating func advance(now: Millis, _ out: inout [CoordinatorDirective]) {
        if case let .gathering(deadline?) = phase, now >= deadline || members.count >= config.startWorkers {
            finishRecovery(now: now, &out)
        }
        guard phase == .idle else { return }
        let checkpointDue = nextStep > lastCheckpointStep
            && (stopping || nextStep == config.totalSteps
                || (config.checkpointEvery > 0 && nextStep % config.checkpointEvery == 0))
        if checkpointDue, let source = ring.first, let peer = members[source]?.peer {
            phase = .checkpoint(step: nextStep, source: source, deadline: now + config.checkpointTimeout)
            out.append(.checkpoint(step: nextStep, source: source, peer: peer))
            return
        }
        if nextStep >= config.totalSteps || stopping {
            finish(&out)
            return
        }
        if startTransferIfWaiting(now: now, &out) { return }
        let active = ring
        if !active.isEmpty && (started || active.count >= config.startWorkers) {
            started = true
            plan(now: now, &out)
        }
    }

    /// Stops at the next boundary: a step in flight is aborted (its shards run again after a resume), a
    /// transfer is cancelled; `advance` then checkpoints the committed state and finishes.
    private mutating func stop(now: Millis, _ out: inout [CoordinatorDirective]) {
        guard !stopping, phase != .finished else { return }
        stopping = true
        out.append(.log("[coordinator] stopping: final checkpoint of step \(nextStep), then the workers leave"))
        switch phase {
        case let .step(round):
            abort(round, reason: "the coordinator is stopping", &out)
        case let .transfer(transfer):
            members[transfer.joiner]?.status = .waiting
            phase = .idle
        default:
            break   // a checkpoint in progress completes first
        }
    }

    private mutating func finish(_ out: inout [CoordinatorDirective]) {
        phase = .finished
        let reason = nextStep >= config.totalSteps ? "run finished" : "run stopped at step \(nextStep)"
        for member in members.values.sorted(by: { $0.id < $1.id }) {
            out.append(.send(to: member.peer, body: .leave(Leave(workerID: member.id, reason: reason)),
                             epoch: epoch, step: UInt64(nextStep)))
        }
        out.append(.log(nextStep >= config.totalSteps ? "[coordinator] run finished after \(nextStep) steps"
                        : "[coordinator] run stopped at step \(nextStep); continue it with --resume"))
        out.append(.finished)
    }
}
