// MARK: - Control-plane bodies: membership and liveness (SYSTEM.md §2, §5)

/// Worker -> coordinator: asks to join the run.
public struct Join: Sendable, Equatable {
    /// Human-readable name, e.g. host:pid (log lines only).
    public var workerName: String
    /// Protocol version the worker speaks.
    public var protocolVersion: UInt32
    /// Build identity (version, commit, CPU policy); must match the coordinator's.
    public var buildFingerprint: String
    /// SHA-256 of the dataset manifest: exactly 32 bytes.
    public var datasetFingerprint: [UInt8]
    /// CURVE public key (32 raw bytes), or empty on plaintext loopback / ipc.
    public var publicKey: [UInt8]
    /// Compute threads the worker will use (at least 1).
    public var threads: UInt32
    /// Measured speed for proportional shard assignment (finite, >= 0).
    public var samplesPerSecond: Double
    /// Where the worker's ring receiver binds (its data-plane address); never empty.
    public var dataEndpoint: String
    /// Steps applied to the state the worker already holds (0 for a fresh worker), and its SHA-256
    /// (empty for a fresh worker): a restarted coordinator continues from the live workers' agreed state.
    public var committedStep: UInt64
    public var stateSHA256: [UInt8]

    public init(workerName: String, protocolVersion: UInt32 = Envelope.currentProtocolVersion,
                buildFingerprint: String, datasetFingerprint: [UInt8], publicKey: [UInt8] = [],
                threads: UInt32, samplesPerSecond: Double, dataEndpoint: String, committedStep: UInt64 = 0,
                stateSHA256: [UInt8] = []) {
        self.workerName = workerName
        self.protocolVersion = protocolVersion
        self.buildFingerprint = buildFingerprint
        self.datasetFingerprint = datasetFingerprint
        self.publicKey = publicKey
        self.threads = threads
        self.samplesPerSecond = samplesPerSecond
        self.dataEndpoint = dataEndpoint
        self.committedStep = committedStep
        self.stateSHA256 = stateSHA256
    }
}

/// Coordinator -> worker: the join was accepted.
public struct Welcome: Sendable, Equatable {
    /// Id of this worker for the rest of the run (ids start at 1).
    public var workerID: UInt32
    /// The run id every later envelope must carry.
    public var runID: RunID
    /// Membership epoch that includes the new worker.
    public var membershipEpoch: UInt64
    /// Resolved run configuration as JSON.
    public var configJSON: String
    /// First step the worker will take part in.
    public var nextStep: UInt64
    /// Worker that streams the state to it; 0 = none (fresh run).
    public var donorWorkerID: UInt32
    /// How often to send Heartbeat, in ms (at least 1).
    public var heartbeatIntervalMs: UInt32
    /// Silence in ms after which the coordinator evicts the worker.
    public var heartbeatTimeoutMs: UInt32

    public init(workerID: UInt32, runID: RunID, membershipEpoch: UInt64, configJSON: String, nextStep: UInt64,
                donorWorkerID: UInt32, heartbeatIntervalMs: UInt32, heartbeatTimeoutMs: UInt32) {
        self.workerID = workerID
        self.runID = runID
        self.membershipEpoch = membershipEpoch
        self.configJSON = configJSON
        self.nextStep = nextStep
        self.donorWorkerID = donorWorkerID
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.heartbeatTimeoutMs = heartbeatTimeoutMs
    }
}

/// Worker -> coordinator: application-level liveness, sent from the worker's main loop.
public struct Heartbeat: Sendable, Equatable {
    /// Sender.
    public var workerID: UInt32
    /// Last step whose update the worker applied.
    public var committedStep: UInt64
    /// Sender's wall clock in ms since 1970 (logs only).
    public var unixMs: UInt64
    /// SHA-256 of the committed state: 32 bytes, or empty if not computed.
    public var stateSHA256: [UInt8]

    public init(workerID: UInt32, committedStep: UInt64, unixMs: UInt64, stateSHA256: [UInt8] = []) {
        self.workerID = workerID
        self.committedStep = committedStep
        self.unixMs = unixMs
        self.stateSHA256 = stateSHA256
    }
}

/// Worker -> coordinator: graceful leave.
public struct Leave: Sendable, Equatable {
    /// Leaving worker.
    public var workerID: UInt32
    /// Why (logs only).
    public var reason: String

    public init(workerID: UInt32, reason: String) {
        self.workerID = workerID
        self.reason = reason
    }
}

/// Either direction: a request could not be served (`neighbormae.v1.Error`).
public struct ErrorReport: Sendable, Equatable {
    /// Machine-readable code (meaning defined by the cluster layer).
    public var code: UInt32
    /// Human-readable explanation.
    public var text: String

    public init(code: UInt32, text: String) {
        self.code = code
        self.text = text
    }
}
