import Wire

// MARK: - What a ring did, and where its time went

/// What one ring did (read on the ring's thread, or after it finished).
public struct RingCounters: Sendable, Equatable {
    public var chunksSent = 0
    /// Of those, chunks computed straight into the next rank's memory (`InPlaceSending`: exact mode's partial sums).
    public var chunksWrittenInPlace = 0
    public var chunksReceived = 0
    public var bytesSent = 0
    /// Chunks of another membership epoch or step (left over from an abandoned collective): dropped.
    public var staleDropped = 0
    /// Chunks of this epoch and step at the wrong place (phase, step, segment, chunk, offset, size): dropped.
    public var mismatchedDropped = 0
    /// Messages that were not ring chunks at all: dropped.
    public var foreignDropped = 0
    /// Chunks whose payload failed the CRC check the ring made itself (`CollectiveFailed.Reason.corruptPayload`).
    public var corruptPayloads = 0
    /// Where this rank's time went in each phase, summed over all calls (`RingPeer` prints it per collective).
    public var reduceScatterTime = RingPhaseTimes()
    public var allGatherTime = RingPhaseTimes()

    public init() {}

    /// The times of `phase`.
    public subscript(time phase: RingPhase) -> RingPhaseTimes {
        get { phase == .reduceScatter ? reduceScatterTime : allGatherTime }
        set { if phase == .reduceScatter { reduceScatterTime = newValue } else { allGatherTime = newValue } }
    }
}

/// Time one rank spent in one phase of its collectives, by kind of work. The executor reads the clock around
/// each call (a few per chunk, ~20 ns each against chunks of 100 µs and more).
public struct RingPhaseTimes: Sendable, Equatable {
    /// In `Transport.send`: copying or lending the payload, its CRC32C, waiting for room at the receiver.
    public var sending = Duration.zero
    /// In `Transport.receive` until the expected chunk arrived: waiting, validation (CRC32C included).
    public var receiving = Duration.zero
    /// Adding (reduce-scatter; in exact mode also packing a partial sum to send on) or storing received chunks.
    public var absorbing = Duration.zero
    /// Preparing payloads to send (packing; lending is nearly free).
    public var preparing = Duration.zero

    public init() {}

    /// Every field of `self` minus `earlier`'s (the times of the calls in between).
    public func since(_ earlier: RingPhaseTimes) -> RingPhaseTimes {
        var times = RingPhaseTimes()
        times.sending = sending - earlier.sending
        times.receiving = receiving - earlier.receiving
        times.absorbing = absorbing - earlier.absorbing
        times.preparing = preparing - earlier.preparing
        return times
    }
}
