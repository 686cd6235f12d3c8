import Comm
import EOData
import Foundation
import TensorCore
import Training
import Wire

// MARK: - The worker process: a thin shell around WorkerState (STYLE.md rule 6)

/// Runs one worker: joins the coordinator, then feeds control messages, compute results, signals and
/// ticks to `WorkerState` and carries out its directives.
///
/// Threads: this loop owns the control connection (DEALER) and never blocks for long, so heartbeats keep
/// flowing while the compute thread (`WorkerDataPlane`) computes, all-reduces and streams state.
public final class WorkerShell {
    let options: WorkerOptions
    private var state: WorkerState
    private var pending: [WorkerEvent] = []
    private var runID = RunID.zero
    private var sequence: UInt64 = 0
    /// The Welcome config the replica was built from.
    private var preparedConfig: String?
    /// Joins sent since the last Welcome.
    private var joinAttempts = 0
    private var exitCode: Int32?
    private var join: Join?
    private var control: ZMQTransport!
    private var dataPlane: WorkerDataPlane!

    public init(options: WorkerOptions) {
        self.options = options
        state = WorkerState(committedSteps: 0, stateSHA256: [], now: monotonicMillis(), timing: options.timing)
    }

    /// Runs until the coordinator ends the run, a signal stops the worker, or setup fails; returns the exit code.
    public func run() throws -> Int32 {
        let signals = TerminationSignals(interactive: !options.managed)
        let context = try ZMQContext()
        let fingerprint = try DatasetFingerprint(dataset: RasterDataset(sources: options.sources))
        dataPlane = WorkerDataPlane(context: context, options: options)
        let endpoint = try dataPlane.bind()
        control = try ZMQTransport(context: context, role: .dealer(connect: options.coordinator),
                                   options: TransportOptions(expectedRunID: nil, security: options.controlSecurity,
                                                             log: options.log))
        defer {
            dataPlane.stopReceivingState()   // a joiner told to leave stops waiting for a donor
            options.log("[worker] ring receiver: \(dataPlane.receiverCounters?.snapshot.description ?? "-")")
            dataPlane.shutDown()             // closes the ring sockets on their own thread, then ends it
            options.log("[worker] control transport: \(control.counters.snapshot)")
            control.close()
        }
        let threads = options.threads == 0 ? ThreadPool.machineThreadCount : options.threads
        join = Join(workerName: options.name, buildFingerprint: BuildFingerprint.current,
                    datasetFingerprint: fingerprint.bytes, publicKey: options.dataSecurity.publicKey,
                    threads: UInt32(clamping: threads),
                    samplesPerSecond: 0, dataEndpoint: endpoint)
        options.log("[worker] \(options.name): ring receiver at \(endpoint), dataset \(fingerprint); "
                    + "joining \(options.coordinator)")
        sendJoin()
        var signalsSeen = 0
        while exitCode == nil {
            if signals.count > signalsSeen {
                signalsSeen = signals.count
                pending.append(.terminate)
            }
            for result in dataPlane.results.drain() { handle(result) }
            if let received = try receiveControl() { onControl(received) }
            pending.append(.tick)
            pump()
        }
        return exitCode!
    }

    /// The next control message. While the compute thread works, the wait is short, so its result goes out
    /// (StepDone, StateDone) within a millisecond instead of one idle poll later.
    private func receiveControl() throws(TransportError) -> ReceivedMessage? {
        try control.receive(timeout: dataPlane.thread.isIdle ? .milliseconds(20) : .milliseconds(1))
    }

    // MARK: - Events in

    private func onControl(_ received: ReceivedMessage) {
        let message = received.message
        if case let .welcome(welcome) = message.body { prepare(for: welcome) }
        guard runID == .zero || message.envelope.runID == runID else {
            return options.log("[worker] dropped \(message.body.type) of run \(message.envelope.runID)")
        }
        pending.append(.message(envelope: message.envelope, body: message.body))
    }

    /// Builds (or keeps) the replica for the welcomed run; the compute thread does the work, so the plan
    /// that may follow at once queues behind it.
    private func prepare(for welcome: Welcome) {
        joinAttempts = 0
        guard case .joining = state.phase else { return }   // a second Welcome (keep your state) changes nothing
        let sameRun = welcome.runID == runID
        runID = welcome.runID
        guard !sameRun || preparedConfig != welcome.configJSON else { return }   // another run: a fresh replica
        do throws(TrainingConfigError) {
            var config = try TrainingConfig.parse(yaml: welcome.configJSON)
            config.sources = options.sources
            config.threads = options.threads
            preparedConfig = welcome.configJSON
            dataPlane.prepare(config)
        } catch {
            options.log("[worker] the coordinator's config is unusable here: \(error)")
            exitCode = 2
        }
    }

    private func handle(_ result: DataPlaneResult) {
        switch result {
        case let .prepared(error):
            if let error {
                options.log("[worker] cannot build the replica: \(error)")
                pending.append(.terminate)
            }
        case let .stepFinished(step, epoch, outcome):
            pending.append(.stepFinished(step: step, epoch: epoch, outcome: outcome))
        case let .stateReceived(step, hash):
            pending.append(.stateReceived(step: step, sha256: hash))
        case let .stateRefused(step, reason):
            options.log("[worker \(state.workerID)] refused the state of step \(step): \(reason)")
        case let .stateSent(done):
            options.log("[worker \(state.workerID)] streamed the state of step \(done.step) to a joiner")
            send(.stateDone(done), epoch: 0, step: done.step)
        case let .stateSendFailed(step, reason):
            options.log("[worker \(state.workerID)] could not stream the state of step \(step): \(reason)")
        }
    }

    /// Applies queued events in order, including the ones directives add.
    private func pump() {
        while !pending.isEmpty && exitCode == nil {
            let event = pending.removeFirst()
            for directive in state.on(event, now: monotonicMillis()) { execute(directive) }
        }
        pending.removeAll()
    }

    // MARK: - Directives out

    private func execute(_ directive: WorkerDirective) {
        switch directive {
        case let .send(body, epoch, step):
            send(body, epoch: epoch, step: step)
        case let .runStep(plan, epoch):
            dataPlane.runStep(plan, epoch: epoch, workerID: state.workerID, runID: runID)
        case let .applyUpdate(step, learningRate):
            applyUpdate(step: step, learningRate: learningRate)
        case let .discardStep(step):
            options.log("[worker \(state.workerID)] discarding the gradient of step \(step)")
        case let .streamState(request):
            dataPlane.sendState(request, runID: runID, timeout: options.transferTimeout)
        case let .sendCheckpoint(request):
            uploadCheckpoint(request)
        case let .expectState(step):
            dataPlane.receiveState(step: step, timeout: options.transferTimeout)
        case .stopExpectingState:
            dataPlane.stopReceivingState()
        case .rejoin:
            sendJoin()
        case let .log(line):
            options.log(line)
        case let .exit(code, reason):
            options.log("[worker \(state.workerID)] exiting (\(code)): \(reason)")
            exitCode = code
        }
    }

    /// Sends `body` to the coordinator under our run id (`presenting` another: a Join, see `sendJoin`).
    private func send(_ body: Body, epoch: UInt64, step: UInt64, presenting run: RunID? = nil) {
        sequence += 1
        let envelope = Envelope(type: body.type, runID: run ?? runID, membershipEpoch: epoch, step: step,
                                sequence: sequence)
        do throws(TransportError) {
            try control.send(envelope, body: body, payload: [], to: nil, timeout: .seconds(1))
        } catch {
            options.log("[worker \(state.workerID)] could not send \(body.type): \(error)")
        }
    }

    /// Registers with the coordinator, announcing the state this worker holds (a restarted coordinator may
    /// continue from it).
    private func sendJoin() {
        guard var join else { return }
        join.committedStep = UInt64(state.committedSteps)
        join.stateSHA256 = state.stateSHA256
        if state.committedSteps > 0, join.stateSHA256.isEmpty, let replica = dataPlane.replica {
            // Safe while a job may still run: jobs of abandoned attempts write gradients, never parameters.
            join.stateSHA256 = replica.state(afterSteps: state.committedSteps).sha256Digest()
        }
        // The run id we know tells a coordinator whether the announced state is its run's. A coordinator of
        // another run refuses that id, so after two unanswered Joins we present none (zero).
        joinAttempts += 1
        send(.join(join), epoch: 0, step: 0, presenting: joinAttempts <= 2 ? runID : .zero)
    }

    /// Applies a committed update here, on the control thread, so the next plan (which may already be
    /// queued) finds the replica advanced. The step's compute job has finished: its report came first.
    private func applyUpdate(step: Int, learningRate: Double) {
        options.fault?.check(step: step, phase: .commit)
        guard let replica = dataPlane.replica else { return }
        while !dataPlane.thread.isIdle { Thread.sleep(forTimeInterval: 0.001) }
        replica.applyUpdate(step: step, learningRate: learningRate)
        pending.insert(.updateApplied(step: step, sha256: []), at: 0)   // hashed only when announced
    }

    /// Streams the committed state over the control connection; the coordinator writes the checkpoint.
    private func uploadCheckpoint(_ request: CheckpointRequest) {
        guard let replica = dataPlane.replica else { return }
        do throws(TransportError) {
            let chunkBytes = Int(clamping: max(request.chunkBytes, 1))
            var link: Transport = control
            if let fault = options.fault, fault.phase == .checkpoint { link = fault.armed(control) }
            try StateSender.send(replica.state(afterSteps: Int(request.step)), over: link, runID: runID, epoch: 0,
                                 chunkBytes: chunkBytes, timeout: options.transferTimeout)
        } catch {
            options.log("[worker \(state.workerID)] checkpoint upload of step \(request.step) failed: \(error)")
        }
    }
}
