import Wire

// MARK: - Why a send or receive failed

/// A transport operation failed. Rejected *incoming* messages are not errors: they are counted in
/// `TransportCounters`, logged and dropped, and `receive` goes on waiting for a valid one.
public enum TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The operation did not finish before its deadline (send: the peer does not drain its queue).
    case timeout(String)
    /// A ROUTER send named a peer that is not connected (`ZMQ_ROUTER_MANDATORY`).
    case peerUnreachable(PeerID)
    /// The transport was closed (locally or because its context is shutting down).
    case closed
    /// An endpoint string is invalid or not allowed by the security policy.
    case endpoint(String, hint: String)
    /// Keys or allow-lists are missing or malformed.
    case security(String, hint: String)
    /// libzmq reported an error; `operation` names the call.
    case zmq(operation: String, code: Int32, message: String)
    /// A system call failed (shared-memory transport); `operation` names it.
    case system(operation: String, code: Int32, message: String)
    /// The message does not fit the transport's limit (a shared-memory slot).
    case messageTooLarge(bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case let .timeout(what): "transport: timed out: \(what)"
        case let .peerUnreachable(peer): "transport: peer \(peer) is not connected"
        case .closed: "transport: closed"
        case let .endpoint(what, hint): "transport: \(what) (hint: \(hint))"
        case let .security(what, hint): "transport: \(what) (hint: \(hint))"
        case let .zmq(operation, code, message): "transport: \(operation) failed: \(message) (errno \(code))"
        case let .system(operation, code, message): "transport: \(operation) failed: \(message) (errno \(code))"
        case let .messageTooLarge(bytes, limit):
            "transport: a message of \(bytes) bytes does not fit the limit of \(limit) bytes"
        }
    }
}
