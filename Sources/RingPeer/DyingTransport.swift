import Comm
import Foundation
import Wire

// MARK: - A transport that kills its process mid-collective (failure tests)

/// Forwards to `inner`; after `chunks` successful sends it sends SIGKILL to its own process, so the
/// rank vanishes mid-collective exactly like a crashed worker (no cleanup, sockets torn down by the kernel).
final class DyingTransport: Transport {
    let inner: Transport
    private var remaining: Int

    init(_ inner: Transport, afterChunks chunks: Int) {
        self.inner = inner
        self.remaining = chunks
    }

    var counters: TransportCounters { inner.counters }

    func send(_ envelope: Envelope, body: Body, payload: [Frame], to peer: PeerID?,
              timeout: Duration) throws(TransportError) {
        try inner.send(envelope, body: body, payload: payload, to: peer, timeout: timeout)
        remaining -= 1
        if remaining <= 0 {
            FileHandle.standardError.write(Data("[ring] dying now (SIGKILL)\n".utf8))
            kill(getpid(), SIGKILL)
        }
    }

    func receive(timeout: Duration) throws(TransportError) -> ReceivedMessage? {
        try inner.receive(timeout: timeout)
    }

    func close() { inner.close() }
}
