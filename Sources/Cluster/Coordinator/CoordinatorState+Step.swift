import Comm
import EOData
import Wire

// MARK: - The step transaction (SYSTEM.md §3)

extension CoordinatorState {
    /// Plans `nextStep` over the current ring: shards in proportion to measured speed (which never
    /// changes results, SYSTEM.md §4), the same ring order and endpoints for everyone.
    mutating func plan(now: Millis, _ out: inout [CoordinatorDirective]) {
        let order = ring
        let weights = order.map { members[$0]!.samplesPerSecond }
        let shards = ShardAssignment.assign(shardCount: config.virtualShards, workerWeights: weights)
        var assignment: [UInt32: [UInt32]] = [:]
        for (position, id) in order.enumerated() { assignment[id] = shards[position].map(UInt32.init) }
        attempts += 1
        let step = nextStep
        // CURVE data plane: everyone announced a key; plaintext (ipc, loopback): nobody did.
        let announced = order.map { members[$0]!.publicKey }
        let keys = announced.allSatisfy { $0.count == 32 } ? announced : []
        for id in order {
            let plan = StepPlan(
                step: UInt64(step), epoch: 0, learningRate: config.schedule.learningRate(at: step),
                virtualShardCount: UInt32(config.virtualShards), virtualShards: assignment[id]!, ringOrder: order,
                ringEndpoints: order.map { members[$0]!.dataEndpoint }, chunkBytes: config.chunkBytes,
                exact: config.exactAllReduce, samplesConsumed: UInt64(step * config.batchSize),
                ringPublicKeys: keys)
            out.append(.send(to: members[id]!.peer, body: .stepPlan(plan), epoch: epoch, step: UInt64(step)))
        }
        phase = .step(StepRound(step: step, epoch: epoch, assignment: assignment, reports: [:],
                                deadline: now + config.stepTimeout))
    }

    mutating func onStepDone(_ done: StepDone, from id: UInt32, envelope: Envelope, now: Millis,
                             _ out: inout [CoordinatorDirective]) {
        guard case var .step(round) = phase, done.step == UInt64(round.step), envelope.membershipEpoch == round.epoch,
              round.assignment[id] != nil, round.reports[id] == nil else {
            out.append(.log("[coordinator] dropped a stale StepDone of step \(done.step) epoch "
                            + "\(envelope.membershipEpoch) from worker \(id)"))
            return
        }
        guard done.ok else {
            abort(round, reason: "worker \(id) failed step \(round.step): \(done.error)", &out)
            return
        }
        round.reports[id] = done
        updateSpeed(of: id, done)
        guard round.reports.count == round.assignment.count else {
            phase = .step(round)
            return
        }
        commit(round, now: now, &out)
    }

    private mutating func commit(_ round: StepRound, now: Millis, _ out: inout [CoordinatorDirective]) {
        let order = round.assignment.keys.sorted()
        let lossSum = order.reduce(0.0) { $0 + round.reports[$1]!.lossSum }
        let weightSum = order.reduce(0.0) { $0 + round.reports[$1]!.lossWeightSum }
        let weightedSum = order.reduce(0.0) { $0 + round.reports[$1]!.weightedLossSum }
        var summary = StepSummary(
            step: round.step, epoch: round.epoch, workers: order, loss: weightSum > 0 ? lossSum / weightSum : 0,
            learningRate: config.schedule.learningRate(at: round.step),
            samplesConsumed: (round.step + 1) * config.batchSize, shards: round.assignment, attempts: attempts)
        summary.weightedLoss = weightSum > 0 ? weightedSum / weightSum : 0
        for id in order {
            summary.computeMs[id] = round.reports[id]!.computeMs
            summary.reduceMs[id] = round.reports[id]!.reduceMs
            if let member = members[id], !member.hasContributed {
                members[id]?.hasContributed = true
                summary.joinLatencyMs[id] = now - member.registeredAt
            }
        }
        // Recorded before any Commit leaves: a coordinator that dies in between has the record of a step
        // some workers may not have applied; a successor that continues from their state re-records it.
        out.append(.committed(summary))
        for id in order {
            out.append(.send(to: members[id]!.peer, body: .commit(Commit(step: UInt64(round.step))),
                             epoch: round.epoch, step: UInt64(round.step)))
        }
        nextStep = round.step + 1
        checkpointStateHash = nil   // the checkpoint the run resumed from no longer holds the state of nextStep
        attempts = 0
        phase = .idle
    }

    /// Aborts an attempt on every member that is still registered and bumps the epoch, so late ring
    /// chunks and reports of the attempt are recognised as stale. The same step is planned again.
    mutating func abort(_ round: StepRound, reason: String, _ out: inout [CoordinatorDirective]) {
        for id in round.assignment.keys.sorted() {
            guard let member = members[id] else { continue }
            out.append(.send(to: member.peer, body: .abort(Abort(step: UInt64(round.step), reason: reason)),
                             epoch: round.epoch, step: UInt64(round.step)))
        }
        out.append(.log("[coordinator] aborted step \(round.step) (attempt \(attempts)): \(reason)"))
        phase = .idle
        newEpoch(reason: "abort of step \(round.step): \(reason)", &out)
    }

    /// Exponential moving average of samples per second over compute time only.
    private mutating func updateSpeed(of id: UInt32, _ done: StepDone) {
        guard done.shardsDone > 0, done.computeMs > 0 else { return }
        let samples = Double(done.shardsDone) * Double(config.batchSize / config.virtualShards)
        let measured = samples / (done.computeMs / 1000)
        let old = members[id]!.samplesPerSecond
        members[id]!.samplesPerSecond = old > 0 ? 0.5 * old + 0.5 * measured : measured
    }
}
