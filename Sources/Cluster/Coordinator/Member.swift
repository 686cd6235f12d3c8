import Comm

// MARK: - A worker as the coordinator sees it

/// One registered worker.
public struct Member: Sendable, Equatable {
    public enum Status: Sendable, Equatable {
        /// Registered, waiting for the next step boundary to receive the state.
        case waiting
        /// A donor is streaming the state of `step`; active once its hash matches the donor's.
        case receivingState(step: Int, donor: UInt32)
        /// In the ring: gets plans and commits.
        case active
    }

    public let id: UInt32
    public let peer: PeerID
    public let name: String
    /// Where its ring receiver binds.
    public let dataEndpoint: String
    /// CURVE public key of its ring receiver (empty on ipc / insecure loopback); donors connect with it.
    public let publicKey: [UInt8]
    /// Measured speed (samples per second); shard quotas are proportional to it.
    public var samplesPerSecond: Double
    public var lastHeard: Millis
    public var status: Status
    /// The state it announced in Join: steps applied and SHA-256 (empty for a fresh worker).
    public var heldStep: Int = 0
    public var heldStateSHA256: [UInt8] = []
    /// Whether that state belongs to this run (its Join carried our run id, not zero or another run's).
    public var heldStateOfThisRun = false
    /// When it registered, and whether a committed step has used its gradient yet (join latency).
    public var registeredAt: Millis = 0
    public var hasContributed = false
}
