import CZeroMQ
import Synchronization

// MARK: - The process's libzmq context

/// A libzmq context: its I/O threads and every socket made from it. Thread-safe (libzmq contexts are).
///
/// Create one per process *inside a function* (a top-level global is never deinitialised, so queued
/// messages would be dropped at exit: notes pitfall 2) and call `terminate()` when done. `ZMQ_BLOCKY` is
/// off, so sockets default to LINGER 0 and termination never hangs on unsent data to a dead peer
/// (pitfall 12); transports set their LINGER explicitly.
///
/// The context also owns the ZAP handler that CURVE servers on it share (`authenticator()`). Its thread
/// keeps the context alive, so a context that ever served CURVE must be ended with `terminate()`.
public final class ZMQContext: @unchecked Sendable {
    /// The `void *` from `zmq_ctx_new`.
    let handle: UnsafeMutableRawPointer
    private let state = Mutex(State())

    private struct State {
        var terminated = false
        var nextInprocID = 0
        var authenticator: ZAPHandler?
    }

    /// - Parameter ioThreads: libzmq I/O threads (1 is enough below about 1 GB/s per context).
    public init(ioThreads: Int = 1) throws(TransportError) {
        guard let handle = zmq_ctx_new() else {
            throw ZMQError.last("zmq_ctx_new").transportError
        }
        self.handle = handle
        do throws(ZMQError) {
            try zmqCall("zmq_ctx_set(ZMQ_BLOCKY)") { zmq_ctx_set(handle, ZMQ_BLOCKY, 0) }
            try zmqCall("zmq_ctx_set(ZMQ_IO_THREADS)") { zmq_ctx_set(handle, ZMQ_IO_THREADS, Int32(ioThreads)) }
        } catch {
            zmq_ctx_term(handle)
            throw error.transportError
        }
    }

    deinit { terminate() }

    /// Shuts the context down: blocked calls on its sockets return `ETERM` (transports throw `.closed`),
    /// the ZAP handler thread stops, then `zmq_ctx_term` waits until every socket is closed (so close
    /// transports, or let their threads see `.closed` and close them). Idempotent.
    public func terminate() {
        let (first, authenticator): (Bool, ZAPHandler?) = state.withLock { state in
            guard !state.terminated else { return (false, nil) }
            state.terminated = true
            defer { state.authenticator = nil }
            return (true, state.authenticator)
        }
        guard first else { return }
        zmq_ctx_shutdown(handle)
        authenticator?.waitUntilStopped()
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    /// Whether `terminate()` has been called.
    public var isTerminated: Bool { state.withLock { $0.terminated } }

    /// A fresh `inproc://` endpoint name, unique within this context.
    func uniqueInprocEndpoint(_ purpose: String) -> String {
        let id = state.withLock { state in
            state.nextInprocID += 1
            return state.nextInprocID
        }
        return "inproc://neighbormae.\(purpose).\(id)"
    }

    /// The context's ZAP handler, started (and bound, before this returns) on first use.
    func authenticator() throws(TransportError) -> ZAPHandler {
        try state.withLock { state throws(TransportError) -> ZAPHandler in
            guard !state.terminated else { throw .closed }
            if let existing = state.authenticator { return existing }
            let started = try ZAPHandler.start(context: self)
            state.authenticator = started
            return started
        }
    }
}
