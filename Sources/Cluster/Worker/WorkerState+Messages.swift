import Wire

// MARK: - Control messages from the coordinator

extension WorkerState {
    mutating func onMessage(_ envelope: Envelope, _ body: Body, now: Millis, _ out: inout [WorkerDirective]) {
        if case .leaving = phase {
            guard body.type == .leave || body.type == .error else { return }
            phase = .exited
            return out.append(.exit(code: 0, reason: "terminated"))
        }
        switch body {
        case let .welcome(welcome):
            onWelcome(welcome, now: now, &out)
        case let .stepPlan(plan):
            onPlan(plan, epoch: envelope.membershipEpoch, now: now, &out)
        case let .commit(commit):
            guard case let .reported(step, _, learningRate) = phase, commit.step == UInt64(step) else {
                return out.append(.log("[worker \(workerID)] ignored Commit of step \(commit.step) in \(phase)"))
            }
            phase = .applying(step: step)
            out.append(.applyUpdate(step: step, learningRate: learningRate))
        case let .abort(abort):
            switch phase {
            case let .running(step, _, _) where UInt64(step) == abort.step,
                 let .reported(step, _, _) where UInt64(step) == abort.step:
                phase = .idle
                out.append(.discardStep(step: step))
                out.append(.log("[worker \(workerID)] step \(step) aborted: \(abort.reason)"))
            default:
                break
            }
        case let .stateTransferRequest(request):
            guard phase == .idle, request.step == UInt64(committedSteps) else {
                return out.append(.log("[worker \(workerID)] cannot donate the state of step \(request.step) "
                                       + "(at \(committedSteps), \(phase))"))
            }
            out.append(.streamState(request))
        case let .checkpointRequest(request):
            guard phase == .idle, request.step == UInt64(committedSteps) else {
                return out.append(.log("[worker \(workerID)] cannot checkpoint step \(request.step) "
                                       + "(at \(committedSteps), \(phase))"))
            }
            out.append(.sendCheckpoint(request))
        case .leave:
            phase = .exited
            out.append(.exit(code: 0, reason: "the coordinator ended the run at step \(committedSteps)"))
        case .heartbeat:
            break   // the coordinator's answer to ours: it is alive (lastHeardFromCoordinator is updated)
        case let .error(report):
            if report.code == ErrorCode.notAMember, case .joining = phase {
                break   // a Join is already on its way (one answer per heartbeat sent before it)
            } else if report.code == ErrorCode.notAMember {
                out.append(.log("[worker \(workerID)] the coordinator no longer knows us; joining again"))
                rejoin(now: now, &out)
            } else {
                phase = .exited
                out.append(.exit(code: 2, reason: "the coordinator refused us: \(report.text)"))
            }
        default:
            out.append(.log("[worker \(workerID)] ignored unexpected \(body.type)"))
        }
    }

    private mutating func onWelcome(_ welcome: Welcome, now: Millis, _ out: inout [WorkerDirective]) {
        if case .receivingState = phase, welcome.workerID == workerID, welcome.donorWorkerID == workerID,
           Int(welcome.nextStep) == committedSteps, committedSteps > 0 {
            // The ring is gone and the coordinator continues from the state this worker still holds.
            phase = .idle
            out.append(.stopExpectingState)
            out.append(.log("[worker \(workerID)] keeps its state of step \(committedSteps)"))
            return heartbeat(now: now, &out)
        }
        guard case .joining = phase else { return }
        if runID != .zero && welcome.runID != runID {
            out.append(.log("[worker] welcomed into another run (\(welcome.runID)); the state of run \(runID) "
                            + "is dropped"))
            committedSteps = 0
            stateSHA256 = []
        }
        runID = welcome.runID
        workerID = welcome.workerID
        heartbeatInterval = Millis(max(welcome.heartbeatIntervalMs, 1))
        let step = Int(welcome.nextStep)
        if step == 0 && committedSteps == 0 {
            phase = .idle   // a fresh run: every replica starts from the seed
        } else if welcome.donorWorkerID == welcome.workerID && step == committedSteps && step > 0 {
            phase = .idle   // a restarted coordinator continues from the state this worker announced
        } else {
            phase = .receivingState(step: step)
            out.append(.expectState(step: step))
        }
        out.append(.log("[worker \(workerID)] welcomed at step \(step), epoch \(welcome.membershipEpoch)"))
        heartbeat(now: now, &out)
    }

    private mutating func onPlan(_ plan: StepPlan, epoch: UInt64, now: Millis, _ out: inout [WorkerDirective]) {
        guard phase == .idle, plan.step == UInt64(committedSteps) else {
            // Out of step with the ring (e.g. a lost Commit): re-register and get the state again.
            out.append(.log("[worker \(workerID)] plan of step \(plan.step) while at \(committedSteps) (\(phase)); "
                            + "joining again"))
            rejoin(now: now, &out)
            return
        }
        phase = .running(step: committedSteps, epoch: epoch, learningRate: plan.learningRate)
        out.append(.runStep(plan, epoch: epoch))
    }

    mutating func onStepFinished(step: Int, epoch: UInt64, _ outcome: StepOutcome, _ out: inout [WorkerDirective]) {
        guard case let .running(running, runningEpoch, learningRate) = phase, running == step, runningEpoch == epoch
        else { return }   // an attempt that was aborted meanwhile
        let done: StepDone
        switch outcome {
        case let .reduced(lossSum, weightedSum, weightSum, pixels, shards, computeMs, reduceMs):
            done = StepDone(step: UInt64(step), ok: true, lossSum: lossSum, lossWeightSum: weightSum,
                            maskedPixelCount: pixels, shardsDone: shards, computeMs: computeMs, reduceMs: reduceMs,
                            weightedLossSum: weightedSum)
        case let .failed(reason):   // reported like a result; the coordinator's Abort follows
            done = StepDone(step: UInt64(step), ok: false, lossSum: 0, lossWeightSum: 0, maskedPixelCount: 0,
                            shardsDone: 0, computeMs: 0, reduceMs: 0, error: reason)
        }
        phase = .reported(step: step, epoch: epoch, learningRate: learningRate)
        out.append(.send(body: .stepDone(done), epoch: epoch, step: UInt64(step)))
    }
}
