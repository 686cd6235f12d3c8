import Comm
import Foundation
import Training

// MARK: - How one coordinator process is set up

/// Settings of `neighbormae coordinator` (the CLI validates and fills them).
public struct CoordinatorOptions: Sendable {
    public var runDirectory: URL
    public var config: TrainingConfig
    /// Control endpoint (ROUTER) workers connect to.
    public var bind: String
    public var security: TransportSecurity = .none
    /// Continue from the newest valid checkpoint in the run directory (a restarted coordinator, or a
    /// stopped run); without one the run starts at step 0.
    public var resume = false
    /// Workers the first step waits for; deadlines of the step transaction (CoordinatorConfig).
    public var startWorkers = 1
    public var heartbeatTimeout: Millis = 3000
    public var heartbeatInterval: Millis = 500
    public var stepTimeout: Millis = 120_000
    public var transferTimeout: Millis = 60_000
    /// With `resume`: how long to wait for surviving workers before choosing where to continue
    /// (nil: the heartbeat timeout; surviving workers rejoin within a heartbeat interval of our first answer).
    public var recoveryWindow: Millis?
    /// Where to serve Prometheus metrics (`HOST:PORT`, `GET /metrics`); nil: not served.
    public var metricsBind: String?
    /// Chunk size of the ring all-reduce told in every plan.
    public var ringChunkBytes = 1 << 20
    /// Test-only: SIGKILL this process while writing the checkpoint of a step, at a write phase.
    public var checkpointFault: (step: Int, phase: CheckpointWritePhase)?
    /// Started by `neighbormae train`: SIGINT is the launcher's business (`TerminationSignals`).
    public var managed = false
    public var log: @Sendable (String) -> Void = LineLog.standardOutput

    public init(runDirectory: URL, config: TrainingConfig, bind: String) {
        self.runDirectory = runDirectory
        self.config = config
        self.bind = bind
    }
}
