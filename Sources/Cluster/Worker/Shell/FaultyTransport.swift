import Comm
import Foundation
import Wire

// MARK: - A transport that kills its process mid-collective (fault injection)

/// Forwards to `inner`; after the first message of the fault's kind (a reduce-scatter or all-gather chunk, a
/// state chunk) of step `step` went out, SIGKILLs its own process, so the worker vanishes in the middle of
/// the collective or the transfer exactly like a crashed one.
final class FaultyTransport: Transport {
    let inner: Transport
    let step: Int
    let fault: WorkerFault

    init(_ inner: Transport, step: Int, fault: WorkerFault) {
        self.inner = inner
        self.step = step
        self.fault = fault
    }

    var counters: TransportCounters { inner.counters }

    func send(_ envelope: Envelope, body: Body, payload: [Frame], to peer: PeerID?,
              timeout: Duration) throws(TransportError) {
        try inner.send(envelope, body: body, payload: payload, to: peer, timeout: timeout)
        guard envelope.step == UInt64(step) else { return }
        let matches = switch (fault.phase, body) {
        case let (.reduce, .ringChunkHeader(header)): header.phase == .reduceScatter
        case let (.gather, .ringChunkHeader(header)): header.phase == .allGather
        case (.transfer, .stateChunk), (.checkpoint, .stateChunk): true
        default: false
        }
        if matches { fault.check(step: step, phase: fault.phase) }
    }

    func receive(timeout: Duration) throws(TransportError) -> ReceivedMessage? {
        try inner.receive(timeout: timeout)
    }

    func close() { inner.close() }
}
