import Comm
import EOData
import Foundation
import NN
import NeighborMAE
import Training
import Wire

// MARK: - The coordinator process: a thin shell around CoordinatorState (STYLE.md rule 6)

/// Runs one coordinator: binds the control ROUTER, feeds messages, ticks, signals and finished background
/// work to `CoordinatorState`, and carries out its directives (sends, checkpoint uploads and writes, state
/// donation from a checkpoint, metrics and progress).
///
/// Threads: this loop owns the ROUTER; checkpoint writes and state donation run on `background`, whose
/// only shared data is `arena` (the state machine's phases keep them apart: nothing else happens during a
/// checkpoint, a transfer or a reload).
public final class CoordinatorShell {
    let options: CoordinatorOptions
    var machine: CoordinatorState!
    var router: ZMQTransport!
    var context: ZMQContext!
    let background = SerialThread(name: "neighbormae-coordinator-io")
    let finishedWork = Mailbox<CoordinatorEvent>()
    let store: CheckpointStore
    /// The state the coordinator holds: a checkpoint being uploaded or written, or the one it donates.
    var arena: ParameterArena
    /// Step of the state in `arena` (nil: nothing valid there).
    var arenaStep: Int?
    var upload: CheckpointUpload?
    var progress: ProgressReporter!
    var runID = RunID.zero
    /// Prometheus endpoint (nil unless `options.metricsBind`).
    var metrics: MetricsEndpoint?
    /// Draws `recon/step-NNNNNNN.png` after each checkpoint (nil when `pictureEvery` is 0).
    lazy var reconstructions: UncheckedRenderer? = options.config.pictureEvery > 0
        ? UncheckedRenderer(renderer: ReconstructionRenderer(config: options.config)) : nil
    private var sequence: UInt64 = 0
    private var finished = false

    public init(options: CoordinatorOptions) {
        self.options = options
        store = CheckpointStore(directory: options.runDirectory.appendingPathComponent("checkpoints"),
                                keep: options.config.keepCheckpoints)
        arena = ParameterArena(layout: NeighborMAEModel(config: options.config.model).layout, seed: options.config.seed)
    }

    /// Runs the run to its end (or a stop); returns the exit code.
    public func run() throws -> Int32 {
        let signals = TerminationSignals(interactive: !options.managed)
        let resume = try openRunDirectory()
        machine = CoordinatorState(config: try coordinatorConfig(), resume: resume)
        context = try ZMQContext()
        router = try ZMQTransport(context: context, role: .router(bind: options.bind),
                                  options: TransportOptions(expectedRunID: runID, security: options.security,
                                                            log: options.log))
        defer {
            background.stop(timeout: 60)
            options.log("[coordinator] control transport: \(router.counters.snapshot)")
            router.close()
        }
        if let bind = options.metricsBind {
            do {   // metrics are an aid: a taken port must not stop the run
                metrics = try MetricsEndpoint(bind: bind)
                options.log("[coordinator] metrics at http://\(metrics!.address)/metrics")
            } catch {
                options.log("[coordinator] metrics not served: \(error)")
            }
        }
        options.log("[coordinator] run \(runID) at \(router.endpoint): \(options.config.steps) steps of "
                    + "\(options.config.batchSize) pairs in \(options.config.virtualShards) shards, from step "
                    + "\(machine.nextStep); waiting for \(options.startWorkers) worker(s)")
        var signalsSeen = 0
        while !finished {
            if signals.count > signalsSeen {
                signalsSeen = signals.count
                if signalsSeen > 1 {
                    options.log("[coordinator] second signal: exiting without a final checkpoint")
                    return 130
                }
                feed(.terminate)
            }
            for event in finishedWork.drain() {
                if case let .checkpointWritten(step, nil) = event {
                    recordCheckpoint(step)
                    progress.writeLossPicture()
                }
                feed(event)
            }
            if let received = try receive() { onMessage(received) }
            feed(.tick)
            publishGauges()
        }
        progress.writeLossPicture()
        return 0
    }

    private func receive() throws(TransportError) -> ReceivedMessage? {
        try router.receive(timeout: .milliseconds(20))
    }

    private func onMessage(_ received: ReceivedMessage) {
        guard let peer = received.peer else { return }
        let message = received.message
        if let current = upload, current.peer == peer {
            switch message.body {
            case .stateChunk, .stateDone:
                if current.accept(message, shell: self) { upload = nil }
            default:
                break
            }
        }
        feed(.message(from: peer, envelope: message.envelope, body: message.body))
    }

    func feed(_ event: CoordinatorEvent) {
        for directive in machine.on(event, now: monotonicMillis()) { execute(directive) }
    }

    // MARK: - Directives

    private func execute(_ directive: CoordinatorDirective) {
        switch directive {
        case let .send(peer, body, epoch, step):
            send(body, to: peer, epoch: epoch, step: step)
        case let .checkpoint(step, source, peer):
            requestCheckpoint(step: step, source: source, peer: peer)
        case let .streamCheckpointState(step, joiner, endpoint, publicKey):
            donate(step: step, joiner: joiner, endpoint: endpoint, publicKey: publicKey)
        case .reloadCheckpoint:
            reload()
        case let .committed(summary):
            progress.committed(summary)
            publishStep(summary)
        case let .continuing(step, _):
            progress.rewind(to: step)
        case let .membershipChanged(change):
            options.log("[coordinator] epoch \(change.epoch) from step \(change.fromStep): workers \(change.workers) "
                        + "(\(change.reason))")
        case let .log(line):
            options.log(line)
        case .finished:
            finished = true
        }
    }

    func send(_ body: Body, to peer: PeerID, epoch: UInt64, step: UInt64) {
        sequence += 1
        let envelope = Envelope(type: body.type, runID: runID, membershipEpoch: epoch, step: step, sequence: sequence)
        do throws(TransportError) {
            try router.send(envelope, body: body, payload: [], to: peer, timeout: .milliseconds(200))
        } catch {
            options.log("[coordinator] could not send \(body.type) to \(peer): \(error)")
        }
    }

    // MARK: - Setup

    /// Creates the run directory's files; with `resume`, loads the newest valid checkpoint into `arena`.
    private func openRunDirectory() throws -> (step: Int, stateSHA256: [UInt8])? {
        let files = FileManager.default
        try files.createDirectory(at: options.runDirectory.appendingPathComponent("logs"),
                                  withIntermediateDirectories: true)
        let metricsURL = options.runDirectory.appendingPathComponent("metrics.jsonl")
        if !options.resume {
            guard store.checkpointDirectories().isEmpty else {
                throw CoordinatorSetupError.occupied(options.runDirectory)
            }
            try? files.removeItem(at: metricsURL)   // records of an attempt that never reached a checkpoint
        }
        runID = try RunIdentity.loadOrCreate(in: options.runDirectory, fresh: !options.resume)
        var resume: (step: Int, stateSHA256: [UInt8])?
        if options.resume && !store.checkpointDirectories().isEmpty {
            let loaded = try store.loadNewestValid(into: arena) { options.log("[coordinator] \($0)") }
            try Trainer.checkResumable(loaded, config: options.config)
            let state = TrainingState(step: loaded.manifest.step, samplesConsumed: loaded.manifest.samplesConsumed,
                                      arena: arena)
            resume = (state.step, state.sha256Digest())
            arenaStep = state.step
            options.log("[coordinator] resuming from \(loaded.url.lastPathComponent) (step \(state.step), "
                        + "\(state.samplesConsumed) samples consumed)")
        } else if options.resume {
            options.log("[coordinator] no checkpoint in \(store.directory.path) yet: starting at step 0")
        }
        progress = try ProgressReporter(config: options.config, metricsURL: metricsURL,
                                        runDirectory: options.runDirectory, log: options.log)
        try Data(options.config.yaml().utf8).write(to: options.runDirectory.appendingPathComponent("config.yaml"))
        return resume
    }

    private func coordinatorConfig() throws -> CoordinatorConfig {
        let training = options.config
        let dataset = try DatasetFingerprint(dataset: RasterDataset(sources: training.sources))
        var config = CoordinatorConfig(
            runID: runID, totalSteps: training.steps, virtualShards: training.virtualShards,
            batchSize: training.batchSize, schedule: training.schedule, buildFingerprint: BuildFingerprint.current,
            datasetFingerprint: dataset.bytes, configJSON: training.yaml())
        config.startWorkers = options.startWorkers
        config.recoveryWindow = options.resume ? options.recoveryWindow ?? options.heartbeatTimeout : 0
        config.heartbeatTimeout = options.heartbeatTimeout
        config.heartbeatInterval = options.heartbeatInterval
        config.stepTimeout = options.stepTimeout
        config.transferTimeout = options.transferTimeout
        config.checkpointEvery = training.checkpointEvery
        config.chunkBytes = UInt64(options.ringChunkBytes)
        config.exactAllReduce = training.gradientSum == .exact
        return config
    }
}
