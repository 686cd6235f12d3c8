// MARK: - A one-way link by endpoint: ZeroMQ PUSH/PULL, or a shared-memory mailbox for shm://

/// Both ends of the one-way links the ring and state transfers use, chosen by the endpoint's scheme:
/// `shm://NAME` (`SharedMemoryTransport`, same host) or a ZeroMQ endpoint (`ZMQTransport` PUSH/PULL).
public enum OneWayLink {
    /// The receiving end bound at `endpoint`, and the endpoint it is bound at (a ZeroMQ bind to port 0 gets
    /// its port here). `largestPayload` sizes a mailbox's slots (ZeroMQ ignores it: `options.limits` bounds
    /// its messages); a mailbox polls for `spin` before it sleeps.
    public static func receiver(at endpoint: String, context: ZMQContext, options: TransportOptions,
                                largestPayload: Int, slots: Int = 4, spin: Duration = .zero)
        throws(TransportError) -> (transport: Transport, bound: String) {
        if SharedMemoryTransport.mailboxName(endpoint) != nil {
            let mailbox = try SharedMemoryTransport(endpoint: endpoint,
                                                    role: .receiver(slots: slots, largestPayload: largestPayload),
                                                    expectedRunID: options.expectedRunID, limits: options.limits,
                                                    spin: spin, log: options.log)
            return (mailbox, endpoint)
        }
        let pull = try ZMQTransport(context: context, role: .pull(bind: endpoint), options: options)
        return (pull, pull.endpoint)
    }

    /// The sending end connected to `endpoint`.
    public static func sender(to endpoint: String, context: ZMQContext, options: TransportOptions,
                              spin: Duration = .zero) throws(TransportError) -> Transport {
        if SharedMemoryTransport.mailboxName(endpoint) != nil {
            return try SharedMemoryTransport(endpoint: endpoint, role: .sender, expectedRunID: options.expectedRunID,
                                             limits: options.limits, spin: spin, log: options.log)
        }
        return try ZMQTransport(context: context, role: .push(connect: endpoint), options: options)
    }
}
