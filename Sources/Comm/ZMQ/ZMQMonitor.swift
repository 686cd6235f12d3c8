import CZeroMQ

// MARK: - Connection events of a socket

/// One socket-monitor event (libzmq 4.3 v1 format: frame 1 = u16 event + u32 value, frame 2 = endpoint).
public struct ZMQMonitorEvent: Sendable, Equatable {
    /// A `ZMQ_EVENT_*` value.
    public var event: UInt16
    /// Event-specific value (an errno for failures, a protocol error code, or a file descriptor).
    public var value: UInt32
    /// The endpoint the event refers to.
    public var endpoint: String

    public var isHandshakeFailure: Bool {
        Int32(event) & (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0
    }

    public var isAuthenticationFailure: Bool { Int32(event) == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH }

    public var isDisconnect: Bool { Int32(event) == ZMQ_EVENT_DISCONNECTED }

    /// A short name for logs.
    public var name: String {
        switch Int32(event) {
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: "handshake failed (\(zmqErrorText(Int32(value))))"
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: "handshake failed (ZMTP protocol error 0x\(String(value, radix: 16)))"
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: "authentication failed (ZAP status \(value))"
        case ZMQ_EVENT_DISCONNECTED: "disconnected"
        case ZMQ_EVENT_ACCEPTED: "accepted"
        case ZMQ_EVENT_CONNECTED: "connected"
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: "handshake succeeded"
        default: "event 0x\(String(event, radix: 16))"
        }
    }
}

/// The monitor of one socket: libzmq publishes the socket's events on an inproc PAIR that this reads.
/// Thread-confined like the socket it watches (read it on the same thread).
public final class ZMQMonitor {
    private let pair: ZMQSocket
    private weak var watched: ZMQSocket?

    /// Events watched by default: handshake and authentication failures, accepts and disconnects.
    public static let defaultEvents: Int32 = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
        | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_ACCEPTED
        | ZMQ_EVENT_HANDSHAKE_SUCCEEDED

    /// Starts monitoring `socket` (on its context) for `events`.
    public init(_ socket: ZMQSocket, events: Int32 = ZMQMonitor.defaultEvents) throws(ZMQError) {
        let endpoint = socket.context.uniqueInprocEndpoint("monitor")
        let handle = try socket.open("zmq_socket_monitor")
        try zmqCall("zmq_socket_monitor") { zmq_socket_monitor(handle, endpoint, events) }
        pair = try ZMQSocket(context: socket.context, type: .pair)
        try pair.set(.linger, 0)
        try pair.connect(endpoint)
        watched = socket
    }

    deinit { close() }

    /// The PAIR socket to include in a `zmqPoll`.
    public var socket: ZMQSocket { pair }

    /// Every event queued now, without waiting.
    public func drain() throws(ZMQError) -> [ZMQMonitorEvent] {
        var events: [ZMQMonitorEvent] = []
        while true {
            let message: ZMQMultipart
            do throws(ZMQError) {
                message = try pair.receive(maxFrames: 2)
            } catch .timeout {
                return events
            }
            guard message.frames.count == 2, message.frames[0].count == 6 else { continue }
            // Host byte order, unaligned (libzmq memcpy's a uint16_t and a uint32_t into 6 bytes).
            let (event, value) = message.frames[0].withUnsafeBytes {
                ($0.loadUnaligned(as: UInt16.self), $0.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            }
            let endpoint = String(decoding: message.frames[1].bytes, as: UTF8.self)
            events.append(ZMQMonitorEvent(event: event, value: value, endpoint: endpoint))
        }
    }

    /// Stops the monitor and closes its PAIR socket. Idempotent.
    public func close() {
        if let watched, let handle = try? watched.open("zmq_socket_monitor") {
            zmq_socket_monitor(handle, nil, 0)
        }
        watched = nil
        pair.close()
    }
}
