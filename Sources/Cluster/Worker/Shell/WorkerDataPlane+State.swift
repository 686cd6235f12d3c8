import Comm
import Foundation
import Training
import Wire

// MARK: - State transfer jobs (SYSTEM.md §5): receive as a joiner, stream as a donor

extension WorkerDataPlane {
    /// Waits on the ring receiver for a donor's state of step `step` or later (the transfer starts at the
    /// first step boundary after the Welcome) and writes it into the replica. A stream that starts over
    /// (chunk 0, e.g. a new donor after a failed transfer) restarts the assembly; other messages (late
    /// ring chunks, leftovers of older transfers) are skipped. Gives up after `timeout` without a message
    /// or when a stream is refused; the coordinator's transfer deadline then evicts this joiner, which
    /// joins again.
    func receiveState(step: Int, timeout: Duration) {
        let generation = stateWaits.current
        thread.submit { [self] in
            guard let replica, let receiver else {
                return results.post(.stateRefused(step: step, reason: "no replica to receive into"))
            }
            var assembly: StateReceiver?
            do {
                var deadline = ContinuousClock.now + timeout
                while true {
                    guard stateWaits.current == generation else { return }   // cancelled: nothing to report
                    guard let received = try receiver.receive(timeout: .milliseconds(100)) else {
                        if ContinuousClock.now > deadline { throw WorkerFailure("no state message for \(timeout)") }
                        continue
                    }
                    switch StateStreamFilter.decide(received.message.body, expecting: step,
                                                    assembling: assembly?.step) {
                    case let .start(streamStep):
                        assembly = StateReceiver(step: streamStep, arena: replica.arena)
                    case .accept:
                        break
                    case .skip:
                        continue
                    }
                    deadline = ContinuousClock.now + timeout
                    guard let current = assembly else { continue }
                    if let state = try current.accept(received.message) {
                        return results.post(.stateReceived(step: state.step, sha256: state.sha256Digest()))
                    }
                }
            } catch {
                results.post(.stateRefused(step: step, reason: "\(error)"))
            }
        }
    }

    /// Ends a pending `receiveState` (its job returns within 100 ms without a result).
    func stopReceivingState() {
        stateWaits.advance()
    }

    /// Streams the replica's state after `request.step` steps to the joiner's ring receiver.
    func sendState(_ request: StateTransferRequest, runID: RunID, timeout: Duration) {
        thread.submit { [self] in
            let step = Int(request.step)
            guard let replica else { return results.post(.stateSendFailed(step: step, reason: "no replica")) }
            do {
                let fault = self.fault
                let digest = try StateSender.push(
                    replica.state(afterSteps: step), to: request.joinerEndpoint, context: zmqContext,
                    security: try dataSecurity.connection(to: request.joinerPublicKey), runID: runID,
                    chunkBytes: Int(clamping: max(request.chunkBytes, 1)), timeout: timeout, log: log,
                    arm: { fault?.phase == .transfer ? fault!.armed($0) : $0 })
                let total = StateImage(layout: replica.arena.layout).byteCount
                results.post(.stateSent(StateDone(step: request.step, totalBytes: UInt64(total), sha256: digest)))
            } catch {
                results.post(.stateSendFailed(step: step, reason: "\(error)"))
            }
        }
    }
}

/// Generations of state waits: cancelling advances it, and a waiting job whose generation is old stops.
final class StateWaitGeneration: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    var current: Int {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    func advance() {
        lock.lock()
        value += 1
        lock.unlock()
    }
}
