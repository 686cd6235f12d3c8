import Cluster
import Comm
import NN
import Wire

/// Drives a `CoordinatorState` with scripted events at explicit times and keeps every directive.
struct CoordinatorHarness {
    static let run = RunID(high: 7, low: 9)
    static let build = "test-build"
    static let dataset = [UInt8](repeating: 3, count: 32)

    var state: CoordinatorState
    var now: Millis = 0
    var log: [CoordinatorDirective] = []

    init(steps: Int = 10, shards: Int = 4, startWorkers: Int = 1, checkpointEvery: Int = 0,
         resume: (step: Int, stateSHA256: [UInt8])? = nil, configure: (inout CoordinatorConfig) -> Void = { _ in }) {
        var config = CoordinatorConfig(
            runID: Self.run, totalSteps: steps, virtualShards: shards, batchSize: shards * 4,
            schedule: LearningRateSchedule(peak: 1e-3, minimum: 0, warmupFraction: 0, totalSteps: steps),
            buildFingerprint: Self.build, datasetFingerprint: Self.dataset, configJSON: "{}")
        config.startWorkers = startWorkers
        config.checkpointEvery = checkpointEvery
        configure(&config)
        state = CoordinatorState(config: config, resume: resume)
    }

    static func peer(_ name: String) -> PeerID { PeerID(name) }

    @discardableResult
    mutating func send(_ event: CoordinatorEvent, at time: Millis? = nil) -> [CoordinatorDirective] {
        if let time { now = time }
        let out = state.on(event, now: now)
        log += out
        return out
    }

    @discardableResult
    mutating func message(_ from: String, _ body: Body, epoch: UInt64? = nil, step: UInt64 = 0, runID: RunID = run,
                          at time: Millis? = nil) -> [CoordinatorDirective] {
        let envelope = Envelope(type: body.type, runID: runID, membershipEpoch: epoch ?? state.epoch, step: step)
        return send(.message(from: Self.peer(from), envelope: envelope, body: body), at: time)
    }

    @discardableResult
    /// `holding`: the state the worker announces; `runID`: what its Join envelope carries (zero: it knows no run).
    mutating func join(_ name: String, speed: Double = 1, build: String = build, holding: (Int, [UInt8])? = nil,
                       runID: RunID = run, at time: Millis? = nil) -> [CoordinatorDirective] {
        message(name, .join(Join(workerName: name, buildFingerprint: build, datasetFingerprint: Self.dataset,
                                 threads: 1, samplesPerSecond: speed, dataEndpoint: "ipc://ring-\(name)",
                                 committedStep: UInt64(holding?.0 ?? 0), stateSHA256: holding?.1 ?? [])),
                runID: runID, at: time)
    }

    /// Worker id assigned to `name` (from its Welcome).
    func id(_ name: String) -> UInt32? {
        state.members.values.first { $0.peer == Self.peer(name) }?.id
    }

    @discardableResult
    mutating func done(_ name: String, step: Int, ok: Bool = true, loss: Double = 1, weight: Double = 1,
                       epoch: UInt64? = nil, at time: Millis? = nil) -> [CoordinatorDirective] {
        message(name, .stepDone(StepDone(step: UInt64(step), ok: ok, lossSum: loss, lossWeightSum: weight,
                                         maskedPixelCount: 1, shardsDone: 1, computeMs: 10, reduceMs: 1,
                                         error: ok ? "" : "CollectiveFailed")),
                epoch: epoch, step: UInt64(step), at: time)
    }

    @discardableResult
    mutating func heartbeat(_ name: String, committed: Int, hash: [UInt8] = [], at time: Millis? = nil)
        -> [CoordinatorDirective] {
        message(name, .heartbeat(Heartbeat(workerID: id(name) ?? 0, committedStep: UInt64(committed), unixMs: 0,
                                           stateSHA256: hash)), at: time)
    }
}

/// Pattern helpers over directives.
extension Array where Element == CoordinatorDirective {
    /// Bodies sent to `peer`, in order.
    func sent(to name: String) -> [Body] {
        compactMap { if case let .send(peer, body, _, _) = $0, peer == PeerID(name) { body } else { nil } }
    }

    var plans: [(peer: PeerID, plan: StepPlan)] {
        compactMap { if case let .send(peer, .stepPlan(plan), _, _) = $0 { (peer, plan) } else { nil } }
    }

    var committed: [StepSummary] {
        compactMap { if case let .committed(summary) = $0 { summary } else { nil } }
    }

    var welcomes: [(peer: PeerID, welcome: Welcome)] {
        compactMap { if case let .send(peer, .welcome(welcome), _, _) = $0 { (peer, welcome) } else { nil } }
    }

    var aborts: [(peer: PeerID, abort: Abort)] {
        compactMap { if case let .send(peer, .abort(abort), _, _) = $0 { (peer, abort) } else { nil } }
    }
}
