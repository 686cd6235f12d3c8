import Comm
import Foundation
import NN
import Training
import Wire

// MARK: - Checkpoints: upload from a worker, durable write, donation to joiners, reload

/// A checkpoint being uploaded by one worker over the control connection (StateChunk..., StateDone).
struct CheckpointUpload {
    let peer: PeerID
    let step: Int
    let receiver: StateReceiver

    /// Feeds one message of the upload; returns true when the upload is over (written or failed).
    func accept(_ message: WireMessage<Frame>, shell: CoordinatorShell) -> Bool {
        do throws(StateTransferError) {
            guard let state = try receiver.accept(message) else { return false }
            shell.arenaStep = state.step
            shell.write(state)
        } catch {
            shell.arenaStep = nil
            shell.finishedWork.post(.checkpointWritten(step: step, error: "upload refused: \(error)"))
        }
        return true
    }
}

extension CoordinatorShell {
    /// Asks `source` for its committed state; the chunks it streams back are assembled into `arena`.
    func requestCheckpoint(step: Int, source: UInt32, peer: PeerID) {
        arenaStep = nil
        upload = CheckpointUpload(peer: peer, step: step, receiver: StateReceiver(step: step, arena: arena))
        let request = CheckpointRequest(step: UInt64(step), chunkBytes: UInt64(4 << 20),
                                        reason: step == options.config.steps ? "final" : "periodic")
        send(.checkpointRequest(request), to: peer, epoch: machine.epoch, step: UInt64(step))
        options.log("[coordinator] checkpoint of step \(step): uploading from worker \(source)")
    }

    /// Writes a verified upload durably on the background thread, then reports `checkpointWritten`.
    func write(_ state: TrainingState) {
        let store = self.store
        let config = options.config
        let membership = machine.history.map {
            MembershipRecord(epoch: $0.epoch, fromStep: $0.fromStep, workers: $0.workers, reason: $0.reason)
        }
        let fault = options.checkpointFault
        let events = finishedWork
        let transferable = UncheckedState(state)
        let renderer = reconstructions
        let (recon, log) = (options.runDirectory.appendingPathComponent("recon"), options.log)
        background.submit {
            let state = transferable.state
            do throws(CheckpointError) {
                try store.write(state, config: config, membership: membership) { phase throws(CheckpointError) in
                    if let fault, fault.step == state.step, fault.phase == phase {
                        let line = "[coordinator] fault injection: SIGKILL while writing the checkpoint of step "
                            + "\(state.step) (\(phase.rawValue))\n"
                        FileHandle.standardError.write(Data(line.utf8))
                        kill(getpid(), SIGKILL)
                    }
                }
                renderer.map { drawReconstruction($0, state: state, folder: recon, log: log) }
                events.post(.checkpointWritten(step: state.step, error: nil))
            } catch {
                events.post(.checkpointWritten(step: state.step, error: "\(error)"))
            }
        }
    }

    /// The coordinator is the donor (no live worker holds the state): streams the checkpointed state in
    /// `arena` to the joiner's ring receiver. The joiner's heartbeat then reports the hash it got.
    func donate(step: Int, joiner: UInt32, endpoint: String, publicKey: [UInt8]) {
        guard arenaStep == step else {
            return options.log("[coordinator] cannot donate the state of step \(step): holding "
                               + "\(arenaStep.map(String.init) ?? "nothing"); the transfer will time out")
        }
        var security = TransportSecurity.none
        if let joinerKey = CurvePublicKey(raw: publicKey) {
            guard case let .curveServer(keys, _) = options.security else {
                return options.log("[coordinator] joiner \(joiner) has a CURVE ring receiver but this coordinator "
                                   + "runs without --key; it cannot donate the checkpointed state")
            }
            security = .curveClient(keys: keys, serverPublicKey: joinerKey)
        } else if endpoint.hasPrefix("tcp://") {
            security = .insecureLoopback
        }
        let state = UncheckedState(TrainingState(step: step, samplesConsumed: step * options.config.batchSize,
                                                 arena: arena))
        let (context, runID, log, connection) = (context!, runID, options.log, security)
        background.submit {
            do {
                try StateSender.push(state.state, to: endpoint, context: context, security: connection, runID: runID,
                                     chunkBytes: 4 << 20, timeout: .seconds(30), log: log)
                log("[coordinator] streamed the checkpointed state of step \(step) to joiner \(joiner)")
            } catch {
                log("[coordinator] could not stream the state of step \(step) to joiner \(joiner): \(error)")
            }
        }
    }

    /// Every replica is gone: load the newest valid checkpoint (or the seeded initial state when there is
    /// none yet) and report it to the state machine.
    func reload() {
        while !background.isIdle { Thread.sleep(forTimeInterval: 0.005) }   // a donation or write finishes first
        do throws(CheckpointError) {
            let loaded = try store.loadNewestValid(into: arena) { options.log("[coordinator] \($0)") }
            arenaStep = loaded.manifest.step
        } catch {
            options.log("[coordinator] no valid checkpoint (\(error)); restarting from the seeded initial state")
            arena = ParameterArena(layout: arena.layout, seed: options.config.seed)
            arenaStep = 0
        }
        let step = arenaStep!
        let state = TrainingState(step: step, samplesConsumed: step * options.config.batchSize, arena: arena)
        progress.rewind(to: step)
        feed(.checkpointLoaded(step: step, stateSHA256: state.sha256Digest()))
    }
}

/// A training state handed to the background thread; the state machine's phases guarantee nobody else
/// touches its arena meanwhile.
struct UncheckedState: @unchecked Sendable {
    let state: TrainingState
    init(_ state: TrainingState) { self.state = state }
}

/// `recon/step-NNNNNNN.png` of a checkpointed state (a failure is logged; the checkpoint stands).
private func drawReconstruction(_ renderer: UncheckedRenderer, state: TrainingState, folder: URL,
                                log: @Sendable (String) -> Void) {
    do {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let name = String(format: "step-%07d.png", state.step)
        try Data(renderer.renderer.png(parameters: state.arena, step: state.step))
            .write(to: folder.appendingPathComponent(name))
    } catch {
        log("[coordinator] reconstruction picture of step \(state.step) failed: \(error)")
    }
}

/// The renderer handed to the background thread, its only user.
struct UncheckedRenderer: @unchecked Sendable {
    let renderer: ReconstructionRenderer
}
