import Comm
import Training
import Wire

// MARK: - Streaming a state to a joiner's ring receiver over a connection of its own

extension StateSender {
    /// Connects to `endpoint` (a joiner's ring receiver: ZeroMQ PUSH or shared-memory mailbox), streams
    /// `state` and closes; returns the SHA-256 the joiner must reproduce. A ZeroMQ connection lingers up to
    /// `timeout` so the last chunks arrive after close; a mailbox holds them until they are read. `arm` may
    /// wrap the connection (fault injection).
    @discardableResult
    public static func push(_ state: TrainingState, to endpoint: String, context: ZMQContext,
                            security: TransportSecurity, runID: RunID, chunkBytes: Int, timeout: Duration,
                            log: @escaping @Sendable (String) -> Void,
                            arm: (Transport) -> Transport = { $0 }) throws(TransportError) -> [UInt8] {
        var settings = TransportOptions(expectedRunID: runID, security: security, log: log)
        settings.heartbeat = nil   // one-way and short-lived: the send deadlines watch it
        settings.linger = timeout
        let connection = arm(try OneWayLink.sender(to: endpoint, context: context, options: settings))
        defer { connection.close() }
        return try send(state, over: connection, runID: runID, epoch: 0, chunkBytes: chunkBytes, timeout: timeout)
    }
}
