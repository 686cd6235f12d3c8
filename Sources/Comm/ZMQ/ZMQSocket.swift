import CZeroMQ

// MARK: - One libzmq socket, confined to one thread

/// The kinds of socket this project uses.
public enum ZMQSocketType: Int32, Sendable {
    case pair = 0      // ZMQ_PAIR (monitor and inproc plumbing)
    case reply = 4     // ZMQ_REP (the ZAP handler)
    case dealer = 5    // ZMQ_DEALER
    case router = 6    // ZMQ_ROUTER
    case pull = 7      // ZMQ_PULL
    case push = 8      // ZMQ_PUSH
}

/// A libzmq socket. Not Sendable: create it on the thread that uses it and never hand it over (libzmq
/// sockets are not thread-safe). The socket keeps its context alive and closes in `deinit` or `close()`.
///
/// Keep it alive across long loops with `withExtendedLifetime(socket) { ... }`: ARC may release an object
/// after its last *use*, and a socket closed early resets its peers (notes pitfall 3).
public final class ZMQSocket {
    /// The `void *` from `zmq_socket`; nil once closed.
    private(set) var handle: UnsafeMutableRawPointer?
    public let context: ZMQContext
    public let type: ZMQSocketType
    /// The SNDTIMEO last set, to skip redundant `zmq_setsockopt` calls on every send.
    private var currentSendTimeout: Int32?

    public init(context: ZMQContext, type: ZMQSocketType) throws(ZMQError) {
        guard let handle = zmq_socket(context.handle, type.rawValue) else { throw .last("zmq_socket") }
        self.handle = handle
        self.context = context
        self.type = type
    }

    deinit { close() }

    /// Closes the socket (pending outgoing messages follow LINGER). Idempotent.
    public func close() {
        guard let handle else { return }
        zmq_close(handle)
        self.handle = nil
    }

    /// The open handle; throws `.failed(ENOTSOCK)` once the socket is closed.
    func open(_ operation: String) throws(ZMQError) -> UnsafeMutableRawPointer {
        guard let handle else { throw .failed(operation: operation, code: ENOTSOCK) }
        return handle
    }

    // MARK: - Endpoints

    public func bind(_ endpoint: String) throws(ZMQError) {
        let handle = try open("zmq_bind")
        try zmqCall("zmq_bind(\(endpoint))") { zmq_bind(handle, endpoint) }
    }

    public func connect(_ endpoint: String) throws(ZMQError) {
        let handle = try open("zmq_connect")
        try zmqCall("zmq_connect(\(endpoint))") { zmq_connect(handle, endpoint) }
    }

    // MARK: - Options

    public func set<Value>(_ option: ZMQSocketOption<Value>, _ value: Value) throws(ZMQError) {
        try Value.set(value, option: option.code, on: open("zmq_setsockopt"))
    }

    public func get<Value>(_ option: ZMQSocketOption<Value>) throws(ZMQError) -> Value {
        try Value.get(option: option.code, from: open("zmq_getsockopt"))
    }

    /// Sets SNDTIMEO to `timeout` (milliseconds, 0 = non-blocking) unless it already has that value.
    func setSendTimeout(_ timeout: Duration) throws(ZMQError) {
        let ms = zmqMilliseconds(timeout)
        guard ms != currentSendTimeout else { return }
        try set(.sendTimeout, ms)
        currentSendTimeout = ms
    }
}
