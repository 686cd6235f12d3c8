import Cluster
import Testing
import Wire

/// The worker's state machine driven by scripted coordinator messages and shell reports.
@Suite("Worker state machine")
struct WorkerStateTests {
    static let run = RunID(high: 1, low: 2)
    static let initialHash = [UInt8](repeating: 0, count: 32)

    static func message(_ body: Body, epoch: UInt64 = 2, step: UInt64 = 0) -> WorkerEvent {
        .message(envelope: Envelope(type: body.type, runID: run, membershipEpoch: epoch, step: step), body: body)
    }

    static func welcome(nextStep: UInt64) -> WorkerEvent {
        message(.welcome(Welcome(workerID: 4, runID: run, membershipEpoch: 1, configJSON: "{}", nextStep: nextStep,
                                 donorWorkerID: 0, heartbeatIntervalMs: 500, heartbeatTimeoutMs: 3000)))
    }

    static func plan(step: UInt64, epoch: UInt64 = 2) -> WorkerEvent {
        message(.stepPlan(StepPlan(step: step, epoch: 0, learningRate: 0.5, virtualShardCount: 2, virtualShards: [1],
                                   ringOrder: [3, 4], ringEndpoints: ["a", "b"], chunkBytes: 64, exact: true,
                                   samplesConsumed: step * 8)), epoch: epoch, step: step)
    }

    static let reduced = StepOutcome.reduced(lossSum: 2, weightedLossSum: 1.5, lossWeightSum: 4, maskedPixels: 9,
                                             shards: 1, computeMs: 10, reduceMs: 2)

    @Test("fresh worker: welcome, plan, report, commit, apply")
    func happyPath() {
        var w = WorkerState(committedSteps: 0, stateSHA256: Self.initialHash, now: 0)
        let welcomed = w.on(Self.welcome(nextStep: 0), now: 10)
        #expect(w.phase == .idle && w.workerID == 4)
        #expect(welcomed.contains { if case .send(.heartbeat, _, _) = $0 { true } else { false } })
        let run = w.on(Self.plan(step: 0), now: 20)
        guard case let .runStep(plan, epoch)? = run.first else { Issue.record("no runStep: \(run)"); return }
        #expect(plan.virtualShards == [1] && epoch == 2)
        let report = w.on(.stepFinished(step: 0, epoch: 2, outcome: Self.reduced), now: 30)
        guard case let .send(.stepDone(done), doneEpoch, _)? = report.first else { Issue.record("\(report)"); return }
        #expect(done.ok && done.lossSum == 2 && done.weightedLossSum == 1.5 && done.shardsDone == 1 && doneEpoch == 2)
        #expect(w.on(Self.message(.commit(Commit(step: 0))), now: 40) == [.applyUpdate(step: 0, learningRate: 0.5)])
        _ = w.on(.updateApplied(step: 0, sha256: [1]), now: 50)
        #expect(w.committedSteps == 1 && w.stateSHA256 == [1] && w.phase == .idle)
    }

    @Test("an abort discards the attempt; its late result is not reported; the re-plan runs")
    func abort() {
        var w = WorkerState(committedSteps: 0, stateSHA256: Self.initialHash, now: 0)
        _ = w.on(Self.welcome(nextStep: 0), now: 0)
        _ = w.on(Self.plan(step: 0, epoch: 2), now: 1)
        let aborted = w.on(Self.message(.abort(Abort(step: 0, reason: "peer gone"))), now: 2)
        #expect(aborted.contains(.discardStep(step: 0)) && w.phase == .idle)
        #expect(w.on(.stepFinished(step: 0, epoch: 2, outcome: Self.reduced), now: 3).isEmpty)
        let replan = w.on(Self.plan(step: 0, epoch: 3), now: 4)
        #expect(replan.first == .runStep(StepPlan(step: 0, epoch: 0, learningRate: 0.5, virtualShardCount: 2,
                                                  virtualShards: [1], ringOrder: [3, 4], ringEndpoints: ["a", "b"],
                                                  chunkBytes: 64, exact: true, samplesConsumed: 0), epoch: 3))
        #expect(w.committedSteps == 0)
    }

    @Test("a mid-run joiner waits for the donor's state, then reports its hash at once")
    func joinMidRun() {
        var w = WorkerState(committedSteps: 0, stateSHA256: Self.initialHash, now: 0)
        #expect(w.on(Self.welcome(nextStep: 5), now: 0).contains(.expectState(step: 5)))
        #expect(w.phase == .receivingState(step: 5))
        let out = w.on(.stateReceived(step: 5, sha256: [7, 7]), now: 1)
        #expect(out.contains { if case let .send(.heartbeat(beat), _, _) = $0 {
            beat.committedStep == 5 && beat.stateSHA256 == [7, 7] && beat.workerID == 4 } else { false } })
        #expect(w.phase == .idle && w.committedSteps == 5)
    }

    @Test("silence, eviction and out-of-step plans lead to a new join that keeps the state")
    func rejoin() {
        var w = WorkerState(committedSteps: 0, stateSHA256: Self.initialHash, now: 0)
        #expect(w.on(.tick, now: 2001).filter { $0 != .rejoin }.count == 1, "a log line says why")
        #expect(w.on(.tick, now: 4002).contains(.rejoin), "Join is retried without a Welcome")
        _ = w.on(Self.welcome(nextStep: 0), now: 2100)
        _ = w.on(Self.plan(step: 0), now: 2200)
        let silent = w.on(.tick, now: 2200 + 10_001)
        #expect(silent.contains(.discardStep(step: 0)) && silent.contains(.rejoin) && w.workerID == 0)
        _ = w.on(Self.welcome(nextStep: 0), now: 20_000)
        #expect(w.on(Self.plan(step: 3), now: 20_001).contains(.rejoin))
        _ = w.on(Self.welcome(nextStep: 0), now: 20_002)
        let evicted = w.on(Self.message(.error(ErrorReport(code: ErrorCode.notAMember, text: "join again"))),
                           now: 20_003)
        #expect(evicted.contains(.rejoin))
        _ = w.on(Self.welcome(nextStep: 0), now: 20_004)
        let refused = w.on(Self.message(.error(ErrorReport(code: ErrorCode.buildMismatch, text: "other build"))),
                           now: 20_005)
        #expect(refused.contains { if case .exit(2, _) = $0 { true } else { false } })
    }

    @Test("donating and checkpointing only from a committed idle state; SIGTERM leaves gracefully")
    func donateAndLeave() {
        var w = WorkerState(committedSteps: 0, stateSHA256: Self.initialHash, now: 0)
        _ = w.on(Self.welcome(nextStep: 0), now: 0)
        let request = StateTransferRequest(step: 0, joinerWorkerID: 9, joinerEndpoint: "ipc://j", joinerPublicKey: [],
                                           chunkBytes: 1024)
        #expect(w.on(Self.message(.stateTransferRequest(request)), now: 1) == [.streamState(request)])
        var stale = request
        stale.step = 4
        #expect(!w.on(Self.message(.stateTransferRequest(stale)), now: 2).contains(.streamState(stale)))
        _ = w.on(Self.plan(step: 0), now: 3)
        let out = w.on(.terminate, now: 4)
        #expect(out.contains(.discardStep(step: 0)))
        let leave = Body.leave(Leave(workerID: 4, reason: "terminated (SIGTERM)"))
        #expect(out.contains(.send(body: leave, epoch: 0, step: 0)))
        #expect(w.phase == .leaving(since: 4) && !out.contains { if case .exit = $0 { true } else { false } })
        #expect(w.on(.tick, now: 1000).isEmpty, "waits for the coordinator's answer")
        let goodbye = w.on(Self.message(.leave(Leave(workerID: 4, reason: "goodbye"))), now: 1001)
        #expect(goodbye == [.exit(code: 0, reason: "terminated")] && w.phase == .exited)
        var silent = WorkerState(committedSteps: 0, stateSHA256: [], now: 0)
        _ = silent.on(Self.welcome(nextStep: 0), now: 1)
        _ = silent.on(.terminate, now: 2)
        #expect(silent.on(.tick, now: 2003).contains { if case .exit(0, _) = $0 { true } else { false } },
                "without an answer it exits after leaveWait")
    }
}

@Suite("Worker state machine: coordinator restart")
struct WorkerRestartTests {
    @Test("a Welcome naming the worker as its own donor keeps its state; extra 'not a member' answers are ignored")
    func keepsState() {
        let hash = [UInt8](repeating: 7, count: 32)
        var state = WorkerState(committedSteps: 7, stateSHA256: hash, now: 0)
        let envelope = Envelope(type: .error, runID: RunID(high: 1, low: 2))
        let ignored = state.on(.message(envelope: envelope, body: .error(ErrorReport(code: ErrorCode.notAMember,
                                                                                      text: "join again"))), now: 10)
        #expect(!ignored.contains(.rejoin), "a Join is already on its way")
        let welcome = Welcome(workerID: 3, runID: RunID(high: 1, low: 2), membershipEpoch: 2, configJSON: "{}",
                              nextStep: 7, donorWorkerID: 3, heartbeatIntervalMs: 500, heartbeatTimeoutMs: 3000)
        let out = state.on(.message(envelope: Envelope(type: .welcome, runID: welcome.runID), body: .welcome(welcome)),
                           now: 20)
        #expect(state.phase == .idle && state.committedSteps == 7 && state.stateSHA256 == hash)
        #expect(!out.contains { if case .expectState = $0 { true } else { false } })

        var other = WorkerState(committedSteps: 7, stateSHA256: hash, now: 0)
        var moved = welcome
        moved.donorWorkerID = 1
        let transfer = other.on(.message(envelope: Envelope(type: .welcome, runID: welcome.runID),
                                         body: .welcome(moved)), now: 20)
        #expect(transfer.contains(.expectState(step: 7)) && other.phase == .receivingState(step: 7))
    }

    @Test("cut off while waiting for a donor, a worker told to keep its state stops waiting; another run drops it")
    func keepWhileWaitingAndNewRun() {
        let hash = [UInt8](repeating: 7, count: 32)
        let run = RunID(high: 1, low: 2)
        var state = WorkerState(committedSteps: 7, stateSHA256: hash, now: 0)
        var welcome = Welcome(workerID: 3, runID: run, membershipEpoch: 2, configJSON: "{}", nextStep: 7,
                              donorWorkerID: 0, heartbeatIntervalMs: 500, heartbeatTimeoutMs: 3000)
        func deliver(_ welcome: Welcome) -> [WorkerDirective] {
            state.on(.message(envelope: Envelope(type: .welcome, runID: welcome.runID), body: .welcome(welcome)),
                     now: 20)
        }
        #expect(deliver(welcome).contains(.expectState(step: 7)))
        welcome.donorWorkerID = 3
        let kept = deliver(welcome)
        #expect(kept.contains(.stopExpectingState) && state.phase == .idle && state.committedSteps == 7)

        var fresh = WorkerState(committedSteps: 0, stateSHA256: [], now: 0)
        _ = fresh.on(.message(envelope: Envelope(type: .welcome, runID: run), body: .welcome(welcome)), now: 1)
        #expect(fresh.runID == run)
        var other = welcome
        other.runID = RunID(high: 9, low: 9)
        state = WorkerState(committedSteps: 7, stateSHA256: hash, now: 0)
        _ = deliver(welcome)    // joins run (1, 2) ... then that coordinator is replaced by another run's
        _ = state.on(.terminate, now: 30)
        var again = WorkerState(committedSteps: 7, stateSHA256: hash, now: 0)
        _ = again.on(.message(envelope: Envelope(type: .welcome, runID: run), body: .welcome(welcome)), now: 1)
        _ = again.on(.message(envelope: Envelope(type: .error, runID: run),
                              body: .error(ErrorReport(code: ErrorCode.notAMember, text: "join again"))), now: 2)
        let moved = again.on(.message(envelope: Envelope(type: .welcome, runID: other.runID), body: .welcome(other)),
                             now: 3)
        #expect(again.committedSteps == 0 && again.runID == other.runID, "another run's Welcome drops the state")
        #expect(moved.contains { if case .log = $0 { true } else { false } })
    }
}
