import CZeroMQ
import Wire

// MARK: - The Transport over real ZeroMQ sockets

/// A `Transport` over one libzmq socket (ROUTER, DEALER, PULL or PUSH), with the socket's monitor.
///
/// Thread-confined: create it on the OS thread that uses it (never the Swift concurrency pool) and keep
/// it there; only `counters` may be read elsewhere. Every incoming message is validated with
/// `WireCodec.decode` (the payload CRC32C may be left to a consumer that checks it: `PayloadCheckDeferring`);
/// rejected messages, refused CURVE keys and failed handshakes are counted, logged as
/// `[transport] <endpoint>: ...` and dropped, and the transport keeps serving.
///
/// Socket settings: SNDHWM/RCVHWM from a byte budget, ZMTP heartbeats, `ZMQ_ROUTER_MANDATORY` (a send to
/// an unknown peer throws `.peerUnreachable`), `ZMQ_MAXMSGSIZE` from the wire limits, explicit LINGER, and
/// per-call timeouts (SNDTIMEO on send, `zmq_poll` on receive).
public final class ZMQTransport: PayloadCheckDeferring {
    public let counters: TransportCounters
    /// The endpoint in use: after a bind, the resolved one (`tcp://127.0.0.1:0` gets its real port).
    public let endpoint: String
    public let role: ZMQRole
    let options: TransportOptions
    let socket: ZMQSocket
    let monitor: ZMQMonitor
    /// The ZAP domain registered for a CURVE server (unregistered on close).
    private let zapDomain: (handler: ZAPHandler, name: String)?
    private(set) var isClosed = false
    /// Sends and receives since the monitor was last drained (see `pollMonitorOccasionally`).
    var operationsSinceMonitor = 0
    /// Busy-path operations between monitor drains: rare events need no per-message check.
    static let monitorInterval = 256

    public init(context: ZMQContext, role: ZMQRole, options: TransportOptions) throws(TransportError) {
        let (configured, binds) = role.address
        try EndpointPolicy.check(configured, security: options.security)
        let counters = TransportCounters()
        let socket: ZMQSocket
        do throws(ZMQError) {
            socket = try ZMQSocket(context: context, type: role.socketType)
            try Self.configure(socket, role: role, options: options)
        } catch {
            throw error.transportError
        }
        var zapDomain: (handler: ZAPHandler, name: String)?
        let monitor: ZMQMonitor
        var resolved = configured
        do throws(TransportError) {
            zapDomain = try Self.applySecurity(options.security, to: socket, endpoint: configured,
                                               counters: counters, log: options.log)
            do throws(ZMQError) {
                monitor = try ZMQMonitor(socket)
                if binds {
                    try socket.bind(configured)
                    resolved = try socket.get(.lastEndpoint)
                } else {
                    try socket.connect(configured)
                }
            } catch {
                throw Self.endpointError(error, configured, binds: binds)
            }
        } catch {
            if let zapDomain { zapDomain.handler.unregister(domain: zapDomain.name) }
            socket.close()
            throw error
        }
        zapDomain.map { $0.handler.updateEndpoint(domain: $0.name, endpoint: resolved) }
        self.counters = counters
        self.socket = socket
        self.monitor = monitor
        self.zapDomain = zapDomain
        self.endpoint = resolved
        self.role = role
        self.options = options
    }

    deinit { close() }

    public func close() {
        guard !isClosed else { return }
        isClosed = true
        if let zapDomain { zapDomain.handler.unregister(domain: zapDomain.name) }
        monitor.close()
        socket.close()
    }

    /// The current value of a socket option (diagnostics and tests).
    public func option<Value>(_ option: ZMQSocketOption<Value>) throws(TransportError) -> Value {
        guard !isClosed else { throw .closed }
        do throws(ZMQError) { return try socket.get(option) } catch { throw error.transportError }
    }

    // MARK: - Setup

    private static func configure(_ socket: ZMQSocket, role: ZMQRole, options: TransportOptions) throws(ZMQError) {
        try socket.set(.linger, zmqMilliseconds(options.linger))
        try socket.set(.sendHighWaterMark, options.highWaterMarkMessages)
        try socket.set(.receiveHighWaterMark, options.highWaterMarkMessages)
        try socket.set(.maxMessageSize, options.maxFrameBytes)
        if let heartbeat = options.heartbeat {
            try socket.set(.heartbeatInterval, zmqMilliseconds(heartbeat.interval))
            try socket.set(.heartbeatTimeout, zmqMilliseconds(heartbeat.timeout))
            try socket.set(.heartbeatTTL, zmqMilliseconds(heartbeat.timeout))
        }
        if case .router = role { try socket.set(.routerMandatory, 1) }
    }

    /// Sets CURVE options; for a server, registers a ZAP domain with the context's handler first.
    private static func applySecurity(
        _ security: TransportSecurity, to socket: ZMQSocket, endpoint: String,
        counters: TransportCounters, log: @escaping @Sendable (String) -> Void
    ) throws(TransportError) -> (handler: ZAPHandler, name: String)? {
        let handler: ZAPHandler? = if case .curveServer = security { try socket.context.authenticator() } else { nil }
        do throws(ZMQError) {
            switch security {
            case .none, .insecureLoopback:
                return nil
            case let .curveServer(keys, allowList):
                let handler = handler!
                let domain = socket.context.uniqueInprocEndpoint("zap")
                handler.register(domain: domain, ZAPHandler.Domain(allowList: allowList, counters: counters,
                                                                   endpoint: endpoint, log: log))
                try socket.set(.zapDomain, domain)
                try socket.set(.curveServer, 1)
                try socket.set(.curveSecretKey, keys.secretKey.bytes)
                return (handler, domain)
            case let .curveClient(keys, serverPublicKey):
                try socket.set(.curveServerKey, serverPublicKey.bytes)
                try socket.set(.curvePublicKey, keys.publicKey.bytes)
                try socket.set(.curveSecretKey, keys.secretKey.bytes)
                return nil
            }
        } catch {
            throw error.transportError
        }
    }

    private static func endpointError(_ error: ZMQError, _ endpoint: String, binds: Bool) -> TransportError {
        guard case let .failed(operation, code) = error else { return error.transportError }
        let hint = switch code {
        case EADDRINUSE: "another process already listens there; pick another port or path"
        case EINVAL, EPROTONOSUPPORT: "check the endpoint syntax, e.g. tcp://127.0.0.1:5555 or ipc:///dir/name"
        case EADDRNOTAVAIL: "the address is not local to this host"
        default: "\(operation): \(zmqErrorText(code))"
        }
        return .endpoint("cannot \(binds ? "bind" : "connect") \(endpoint): \(zmqErrorText(code))", hint: hint)
    }
}
