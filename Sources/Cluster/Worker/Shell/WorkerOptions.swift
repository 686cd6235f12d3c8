import Comm
import Foundation
import Wire

// MARK: - How one worker process is set up

/// Settings of `neighbormae worker` (the CLI validates and fills them).
public struct WorkerOptions: Sendable {
    /// Coordinator's control endpoint (its ROUTER).
    public var coordinator: String
    /// Where this worker's ring receiver binds (ZeroMQ PULL, or `shm://NAME`: a shared-memory mailbox, for
    /// runs whose workers and coordinator share one host), and the address peers use to reach it: the bound
    /// endpoint, with a wildcard host replaced by `advertiseHost`.
    public var dataBind: String
    public var advertiseHost: String?
    /// Rasters this worker reads (paths may differ between hosts; the dataset fingerprint may not).
    public var sources: [String]
    /// Compute threads of this worker (0 = one per CPU).
    public var threads: Int
    public var name: String
    /// Control plane and data plane security (ipc needs none; tcp needs CURVE or explicit insecure loopback).
    public var controlSecurity: TransportSecurity = .none
    public var dataSecurity: DataPlaneSecurity = .none
    /// A `shm://` data endpoint: the largest message payload its mailbox takes (a ring chunk is at most
    /// 2 x the ring's chunk bytes in exact mode; a state chunk the coordinator's transfer chunk bytes).
    public var mailboxPayloadBytes = 8 << 20
    /// Deadline of every ring chunk; a dead ring neighbour is noticed within it.
    public var ringTimeout: Duration = .seconds(5)
    /// Deadline of one state transfer message (donor and joiner).
    public var transferTimeout: Duration = .seconds(30)
    public var timing = WorkerState.Timing()
    /// Test-only: kill this process with SIGKILL at a step and phase.
    public var fault: WorkerFault?
    /// Test and benchmark only: extra milliseconds of every step's compute, as on a slower host.
    public var paceMs = 0
    /// Started by `neighbormae train`: SIGINT is the launcher's business (`TerminationSignals`).
    public var managed = false
    public var log: @Sendable (String) -> Void = LineLog.standardOutput

    public init(coordinator: String, dataBind: String, sources: [String], threads: Int, name: String) {
        self.coordinator = coordinator
        self.dataBind = dataBind
        self.sources = sources
        self.threads = threads
        self.name = name
    }
}

/// Security of a worker's data plane (its ring receiver and its connections to other workers).
public enum DataPlaneSecurity: Sendable, Equatable {
    /// ipc endpoints in a 0700 directory.
    case none
    /// Plaintext tcp on loopback (tests and benchmarks only).
    case insecureLoopback
    /// CURVE: this worker's key pair; its ring receiver admits only `allowList` (the other workers and the
    /// coordinator, which donates checkpointed state). Peers' keys come in StepPlan and StateTransferRequest.
    case curve(CurveKeyPair, allowList: CurveAllowList)

    /// Security of this worker's ring receiver.
    var receiver: TransportSecurity {
        switch self {
        case .none: .none
        case .insecureLoopback: .insecureLoopback
        case let .curve(keys, allowList): .curveServer(keys: keys, allowList: allowList)
        }
    }

    /// Security of a connection to a peer's receiver whose public key is `peerKey` (raw, from a message).
    func connection(to peerKey: [UInt8]) throws -> TransportSecurity {
        switch self {
        case .none: return .none
        case .insecureLoopback: return .insecureLoopback
        case let .curve(keys, _):
            guard let server = CurvePublicKey(raw: peerKey) else {
                throw WorkerFailure("the peer announced no CURVE key (\(peerKey.count) bytes); every worker of a "
                                    + "CURVE ring must run with --key")
            }
            return .curveClient(keys: keys, serverPublicKey: server)
        }
    }

    /// The public key announced in Join (empty without CURVE).
    var publicKey: [UInt8] {
        if case let .curve(keys, _) = self { keys.publicKey.bytes } else { [] }
    }
}

// MARK: - Fault injection for the acceptance tests

/// Where a test wants a worker to die. SIGKILL leaves no chance to clean up, exactly like a crash.
public struct WorkerFault: Sendable, Equatable, CustomStringConvertible {
    public enum Phase: String, Sendable, CaseIterable {
        /// On receiving the step's plan, before computing.
        case plan
        /// In the ring's reduce-scatter (after sending its first chunk; a ring of one sends none).
        case reduce
        /// In the ring's all-gather (after sending its first chunk).
        case gather
        /// After the all-reduce, before reporting StepDone.
        case report
        /// On receiving Commit, before applying the update.
        case commit
        /// While donating its state to a joiner (after the first chunk).
        case transfer
        /// While uploading a checkpoint to the coordinator (after the first chunk; `step` is the checkpoint's).
        case checkpoint
    }

    public var step: Int
    public var phase: Phase

    /// Parses `STEP:PHASE`, e.g. `5:reduce`.
    public init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let step = Int(parts[0]), step >= 0, let phase = Phase(rawValue: String(parts[1]))
        else { return nil }
        self.step = step
        self.phase = phase
    }

    public var description: String { "\(step):\(phase.rawValue)" }

    /// `transport`, wired to die after the first message of this fault's kind in its step (a reduce-scatter
    /// or all-gather chunk, a state chunk); other phases are checked at their place with `check`.
    func armed(_ transport: Transport) -> Transport {
        TripwireTransport(transport, trips: { envelope, body in
            guard envelope.step == UInt64(step) else { return false }
            return switch (phase, body) {
            case let (.reduce, .ringChunkHeader(header)): header.phase == .reduceScatter
            case let (.gather, .ringChunkHeader(header)): header.phase == .allGather
            case (.transfer, .stateChunk), (.checkpoint, .stateChunk): true
            default: false
            }
        }, action: { [self] in check(step: step, phase: phase) })
    }

    /// Dies when `step` and `phase` are the injected ones.
    func check(step: Int, phase: Phase) {
        guard step == self.step, phase == self.phase else { return }
        FileHandle.standardError.write(Data("[worker] fault injection: SIGKILL at step \(step), \(phase)\n".utf8))
        kill(getpid(), SIGKILL)
    }
}
