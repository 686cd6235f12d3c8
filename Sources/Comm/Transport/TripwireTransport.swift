import Wire

// MARK: - A transport decorator that acts after a chosen send (fault injection)

/// Forwards every call to `inner`; after each successful send it asks `trips` whether this was the one,
/// and if so runs `action` (the fault tests pass a SIGKILL of their own process, so a peer vanishes
/// mid-collective or mid-transfer exactly like a crashed one: no cleanup, sockets torn down by the kernel).
public final class TripwireTransport: Transport {
    public let inner: Transport
    private let trips: (Envelope, Body) -> Bool
    private let action: () -> Void

    public init(_ inner: Transport, trips: @escaping (Envelope, Body) -> Bool, action: @escaping () -> Void) {
        self.inner = inner
        self.trips = trips
        self.action = action
    }

    public var counters: TransportCounters { inner.counters }

    public func send(_ envelope: Envelope, body: Body, payload: [Frame], to peer: PeerID?,
                     timeout: Duration) throws(TransportError) {
        try inner.send(envelope, body: body, payload: payload, to: peer, timeout: timeout)
        if trips(envelope, body) { action() }
    }

    public func receive(timeout: Duration) throws(TransportError) -> ReceivedMessage? {
        try inner.receive(timeout: timeout)
    }

    public func close() { inner.close() }
}
