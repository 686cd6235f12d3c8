import Comm
import Wire

// MARK: - Join, state transfer, heartbeats, eviction (SYSTEM.md §5)

extension CoordinatorState {
    mutating func onJoin(_ join: Join, from peer: PeerID, ofThisRun: Bool, now: Millis,
                         _ out: inout [CoordinatorDirective]) {
        func refuse(_ code: UInt32, _ text: String) {
            out.append(.log("[coordinator] refused join of \(join.workerName) (\(peer)): \(text)"))
            out.append(.send(to: peer, body: .error(ErrorReport(code: code, text: text)), epoch: epoch,
                             step: UInt64(nextStep)))
        }
        guard phase != .finished else { return refuse(ErrorCode.runFinished, "the run has finished") }
        guard join.buildFingerprint == config.buildFingerprint else {
            return refuse(ErrorCode.buildMismatch, "build \(join.buildFingerprint) differs from the coordinator's "
                          + "\(config.buildFingerprint); hint: run the same build everywhere")
        }
        guard join.datasetFingerprint == config.datasetFingerprint else {
            return refuse(ErrorCode.datasetMismatch, "dataset fingerprint differs from the coordinator's; "
                          + "hint: every worker must read the same rasters")
        }
        if let old = members.values.first(where: { $0.peer == peer }) {
            // Joins queued in a worker's socket while it was cut off arrive back to back: a registered worker
            // that is not in the ring yet gets its Welcome again, keeping its id. One that was in the ring lost
            // track of the run (its Join says so) and registers anew.
            switch (old.status, phase) {
            case (.waiting, .gathering):
                members[old.id]?.lastHeard = now
                return
            case (.waiting, _):
                members[old.id]?.lastHeard = now
                return welcome(old.id, keepsState: false, &out)
            case (.receivingState, _):
                members[old.id]?.lastHeard = now
                return
            case (.active, _):
                remove([old.id], reason: "worker \(old.id) joined again", evicted: false, now: now, &out)
            }
        }
        let id = nextWorkerID
        nextWorkerID += 1
        counts.joins += 1
        members[id] = Member(id: id, peer: peer, name: join.workerName, dataEndpoint: join.dataEndpoint,
                             publicKey: join.publicKey, samplesPerSecond: join.samplesPerSecond, lastHeard: now,
                             status: .waiting, heldStep: Int(clamping: join.committedStep),
                             heldStateSHA256: join.stateSHA256, heldStateOfThisRun: ofThisRun, registeredAt: now)
        if case .gathering = phase {
            out.append(.log("[coordinator] worker \(id) (\(join.workerName)) registered, holding the state of step "
                            + "\(join.committedStep); deciding where the run continues"))
            return
        }
        welcome(id, keepsState: false, &out)
        out.append(.log("[coordinator] worker \(id) (\(join.workerName)) registered; waiting for a step boundary"))
    }

    /// Welcomes a registered worker at `nextStep`. `keepsState`: it continues from the state it announced
    /// (donor = itself); otherwise a donor streams it the state at a step boundary.
    mutating func welcome(_ id: UInt32, keepsState: Bool, _ out: inout [CoordinatorDirective]) {
        guard let member = members[id] else { return }
        let welcome = Welcome(
            workerID: id, runID: config.runID, membershipEpoch: epoch, configJSON: config.configJSON,
            nextStep: UInt64(nextStep), donorWorkerID: keepsState ? id : ring.first ?? 0,
            heartbeatIntervalMs: UInt32(clamping: config.heartbeatInterval),
            heartbeatTimeoutMs: UInt32(clamping: config.heartbeatTimeout))
        out.append(.send(to: member.peer, body: .welcome(welcome), epoch: epoch, step: UInt64(nextStep)))
    }

    /// At a step boundary, gives the oldest waiting worker the state. At step 0 of a fresh run every
    /// replica starts from the seed, so waiting workers enter the ring at once. Returns true when a
    /// transfer (or a checkpoint reload) now occupies the boundary.
    mutating func startTransferIfWaiting(now: Millis, _ out: inout [CoordinatorDirective]) -> Bool {
        let waiting = members.values.filter { $0.status == .waiting }.map(\.id).sorted()
        guard let joiner = waiting.first, let member = members[joiner] else { return false }
        if nextStep == 0 && checkpointStateHash == nil {
            for id in waiting { members[id]?.status = .active }
            newEpoch(reason: "joined \(waiting) at the start", &out)
            return false
        }
        let donor: UInt32
        if let first = ring.first {
            donor = first
            out.append(.send(to: members[first]!.peer, body: .stateTransferRequest(StateTransferRequest(
                step: UInt64(nextStep), joinerWorkerID: joiner, joinerEndpoint: member.dataEndpoint,
                joinerPublicKey: member.publicKey, chunkBytes: config.transferChunkBytes)),
                epoch: epoch, step: UInt64(nextStep)))
        } else if let keepers = holders(of: nextStep, among: waiting) {
            // Every replica in the ring is gone, but workers that were cut off (a partition, a coordinator
            // out of reach) come back holding the committed state: they continue from it, nothing is redone.
            for id in keepers {
                members[id]?.status = .active
                welcome(id, keepsState: true, &out)
            }
            out.append(.log("[coordinator] workers \(keepers) came back holding the state of step \(nextStep); "
                            + "the ring continues from it"))
            newEpoch(reason: "workers \(keepers) keep the state of step \(nextStep)", &out)
            return false
        } else if checkpointStateHash != nil {
            donor = 0
            out.append(.streamCheckpointState(step: nextStep, joiner: joiner, endpoint: member.dataEndpoint,
                                              publicKey: member.publicKey))
        } else {
            phase = .reloading
            out.append(.log("[coordinator] no live replica of step \(nextStep); reloading the newest checkpoint"))
            out.append(.reloadCheckpoint)
            return true
        }
        members[joiner]?.status = .receivingState(step: nextStep, donor: donor)
        phase = .transfer(Transfer(joiner: joiner, donor: donor, step: nextStep,
                                   donorHash: donor == 0 ? checkpointStateHash : nil, joinerHash: nil,
                                   deadline: now + config.transferTimeout))
        out.append(.log("[coordinator] worker \(donor == 0 ? "coordinator" : String(donor)) streams the state of "
                        + "step \(nextStep) to joiner \(joiner)"))
        return true
    }

    /// The waiting members that announced this run's state after exactly `step` steps, if they agree on its
    /// hash (and it equals the checkpoint's, when the run stands at a checkpoint); nil otherwise.
    func holders(of step: Int, among waiting: [UInt32]) -> [UInt32]? {
        let candidates = waiting.compactMap { members[$0] }.filter {
            $0.heldStateOfThisRun && $0.heldStep == step && $0.heldStateSHA256.count == 32
        }
        let hashes = Set(candidates.map(\.heldStateSHA256))
        guard hashes.count == 1, checkpointStateHash == nil || hashes.first == checkpointStateHash else { return nil }
        return candidates.map(\.id).sorted()
    }

    /// Heartbeats keep members alive; a joiner's heartbeat also reports the hash of the state it received.
    mutating func onHeartbeat(_ beat: Heartbeat, from id: UInt32, now: Millis, _ out: inout [CoordinatorDirective]) {
        if let peer = members[id]?.peer {   // workers watch the coordinator by these answers
            out.append(.send(to: peer, body: .heartbeat(Heartbeat(workerID: id, committedStep: UInt64(nextStep),
                                                                  unixMs: 0)),
                             epoch: epoch, step: UInt64(nextStep)))
        }
        guard case var .transfer(transfer) = phase, transfer.joiner == id,
              beat.committedStep == UInt64(transfer.step), !beat.stateSHA256.isEmpty else { return }
        transfer.joinerHash = beat.stateSHA256
        phase = .transfer(transfer)
        completeTransferIfVerified(now: now, &out)
    }

    /// The donor's StateDone carries the SHA-256 the joiner must reproduce.
    mutating func onDonorFinished(_ done: StateDone, from id: UInt32, now: Millis,
                                  _ out: inout [CoordinatorDirective]) {
        guard case var .transfer(transfer) = phase, transfer.donor == id, done.step == UInt64(transfer.step) else {
            return
        }
        transfer.donorHash = done.sha256
        phase = .transfer(transfer)
        completeTransferIfVerified(now: now, &out)
    }

    private mutating func completeTransferIfVerified(now: Millis, _ out: inout [CoordinatorDirective]) {
        guard case let .transfer(transfer) = phase, let donorHash = transfer.donorHash,
              let joinerHash = transfer.joinerHash else { return }
        guard donorHash == joinerHash else {
            remove([transfer.joiner], reason: "joiner \(transfer.joiner)'s state hash differs from the donor's",
                   now: now, &out)
            return
        }
        members[transfer.joiner]?.status = .active
        phase = .idle
        newEpoch(reason: "joined \(transfer.joiner) at step \(transfer.step)", &out)
    }

    /// Removes members (left, silent, failed). Whatever they took part in is aborted or cancelled;
    /// the ring re-forms at the next boundary.
    /// `evicted`: removed for a failure (counted in `counts.evictions`), not a leave or a new Join.
    mutating func remove(_ ids: [UInt32], reason: String, evicted: Bool = true, now: Millis,
                         _ out: inout [CoordinatorDirective]) {
        let removed = ids.filter { members[$0] != nil }
        guard !removed.isEmpty else { return }
        if evicted { counts.evictions += removed.count } else { counts.leaves += removed.count }
        let ringChanged = removed.contains { members[$0]?.status == .active }
        for id in removed { members[id] = nil }
        out.append(.log("[coordinator] removed \(removed): \(reason)"))
        switch phase {
        case let .step(round) where removed.contains(where: { round.assignment[$0] != nil }):
            abort(round, reason: reason, &out)
            return   // abort bumps the epoch
        case let .transfer(transfer) where removed.contains(transfer.joiner) || removed.contains(transfer.donor):
            if members[transfer.joiner] != nil { members[transfer.joiner]?.status = .waiting }
            phase = .idle
        case let .checkpoint(step, source, _) where removed.contains(source):
            out.append(.log("[coordinator] checkpoint of step \(step) cancelled: its source left; retrying"))
            phase = .idle
        default:
            break
        }
        if ringChanged { newEpoch(reason: reason, &out) }
    }

    mutating func newEpoch(reason: String, _ out: inout [CoordinatorDirective]) {
        epoch += 1
        let change = MembershipChange(epoch: epoch, fromStep: nextStep, workers: ring, reason: reason)
        history.append(change)
        out.append(.membershipChanged(change))
    }
}
