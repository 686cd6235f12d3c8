import Foundation
import Wire

// MARK: - What a ZMQTransport is and how it behaves

/// The socket pattern of a `ZMQTransport` and where it binds or connects.
public enum ZMQRole: Sendable, Equatable {
    /// Coordinator side of the control plane: receives with the peer's routing identity, sends to it.
    case router(bind: String)
    /// Worker side of the control plane: one connection to the coordinator's ROUTER.
    case dealer(connect: String)
    /// Receiving end of a one-way data link (a ring member's input).
    case pull(bind: String)
    /// Sending end of a one-way data link (a ring member's output to the next rank).
    case push(connect: String)

    var socketType: ZMQSocketType {
        switch self {
        case .router: .router
        case .dealer: .dealer
        case .pull: .pull
        case .push: .push
        }
    }

    /// The configured endpoint and whether the role binds it.
    var address: (endpoint: String, binds: Bool) {
        switch self {
        case let .router(endpoint), let .pull(endpoint): (endpoint, true)
        case let .dealer(endpoint), let .push(endpoint): (endpoint, false)
        }
    }

    var canReceive: Bool {
        switch self {
        case .push: false
        case .router, .dealer, .pull: true
        }
    }

    var canSend: Bool {
        switch self {
        case .pull: false
        case .router, .dealer, .push: true
        }
    }
}

/// Settings of one `ZMQTransport`; defaults follow the transport notes (§5, §6).
public struct TransportOptions: Sendable {
    /// Messages with another run id are rejected (`nil`: any run, e.g. before a Join was answered).
    public var expectedRunID: RunID?
    /// Decoder limits; `ZMQ_MAXMSGSIZE` is derived from them.
    public var limits: WireLimits = .standard
    /// Bytes each direction may queue; the HWM in messages is `highWaterMarkBytes / typicalMessageBytes`,
    /// at least 2 (libzmq's HWM counts messages, not bytes: notes pitfall 13).
    public var highWaterMarkBytes: Int = 64 << 20
    /// Typical message size used to turn the byte budget into a message count.
    public var typicalMessageBytes: Int = 1 << 20
    /// ZMTP PING interval and the silence after which the connection is dropped (nil: no heartbeats).
    /// These prove the peer's *process* is alive (libzmq's I/O thread answers), not its main loop.
    public var heartbeat: (interval: Duration, timeout: Duration)? = (.seconds(1), .seconds(3))
    /// How long `close()` keeps trying to deliver queued messages.
    public var linger: Duration = .milliseconds(500)
    /// Encryption and authentication; must suit the endpoint (`EndpointPolicy`).
    public var security: TransportSecurity = .none
    /// Where rejected messages and refused connections are reported (one line each).
    public var log: @Sendable (String) -> Void = TransportOptions.standardError

    public init(expectedRunID: RunID?, security: TransportSecurity = .none,
                log: @escaping @Sendable (String) -> Void = TransportOptions.standardError) {
        self.expectedRunID = expectedRunID
        self.security = security
        self.log = log
    }

    /// HWM in messages from the byte budget.
    public var highWaterMarkMessages: Int32 {
        Int32(clamping: max(2, highWaterMarkBytes / max(1, typicalMessageBytes)))
    }

    /// `ZMQ_MAXMSGSIZE`: the largest single frame any valid message can contain.
    public var maxFrameBytes: Int64 {
        Int64(clamping: max(UInt64(limits.maxHeaderBytes), limits.maxPayloadBytes))
    }

    /// Writes a line to standard error.
    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
