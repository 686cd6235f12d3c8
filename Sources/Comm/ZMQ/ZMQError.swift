import CZeroMQ

// MARK: - What a libzmq call reported

/// A failed libzmq call, classified the way callers act on it (notes pitfall 8): `EAGAIN` is a timeout
/// (or a non-blocking call with nothing to do), `ETERM` means the context is shutting down, anything else
/// carries the errno. `EINTR` never surfaces: the wrapper retries it.
public enum ZMQError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `EAGAIN`: the deadline passed (or `DONTWAIT` found nothing to do).
    case timeout(operation: String)
    /// `ETERM`: the context is terminating; the socket must be closed.
    case terminated
    /// Any other errno from `operation`.
    case failed(operation: String, code: Int32)

    /// Classifies `zmq_errno()` right after a failed call named `operation`.
    static func last(_ operation: String) -> ZMQError {
        classify(zmq_errno(), operation)
    }

    static func classify(_ code: Int32, _ operation: String) -> ZMQError {
        switch code {
        case EAGAIN: .timeout(operation: operation)
        case ETERM: .terminated
        default: .failed(operation: operation, code: code)
        }
    }

    /// The errno, when the error is `.failed`.
    public var code: Int32? {
        if case let .failed(_, code) = self { return code }
        return nil
    }

    public var description: String {
        switch self {
        case let .timeout(operation): "zmq: \(operation) timed out"
        case .terminated: "zmq: context terminated"
        case let .failed(operation, code): "zmq: \(operation) failed: \(zmqErrorText(code)) (errno \(code))"
        }
    }

    /// The same failure as a `TransportError`.
    public var transportError: TransportError {
        switch self {
        case let .timeout(operation): .timeout(operation)
        case .terminated: .closed
        case let .failed(operation, code): .zmq(operation: operation, code: code, message: zmqErrorText(code))
        }
    }
}

/// libzmq's text for an errno.
func zmqErrorText(_ code: Int32) -> String {
    guard let text = zmq_strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}

/// Runs a libzmq call that returns -1 on failure, retrying `EINTR`; throws the classified error otherwise.
@discardableResult
func zmqCall(_ operation: String, _ call: () -> Int32) throws(ZMQError) -> Int32 {
    while true {
        let result = call()
        if result >= 0 { return result }
        let code = zmq_errno()
        if code == EINTR { continue }
        throw ZMQError.classify(code, operation)
    }
}

/// Milliseconds for a libzmq timeout option or poll: 0 for non-positive, capped at `Int32.max`.
func zmqMilliseconds(_ duration: Duration) -> Int32 {
    guard duration > .zero else { return 0 }
    let (seconds, attoseconds) = duration.components
    let ms = seconds.multipliedReportingOverflow(by: 1000)
    guard !ms.overflow else { return .max }
    let total = ms.partialValue + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    return Int32(clamping: total)
}
