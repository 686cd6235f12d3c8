// MARK: - How a sender copies large frames into a slot

/// Chooses, by what copies cost here and now, between a plain copy and a streaming one.
///
/// A plain copy leaves the lines in the sender's cache, and the receiver then fetches them from there. That is
/// fastest when the two cores share a cache. When moving lines between the cores is slow, a streaming copy
/// (non-temporal stores: `crc32cCopying`'s streaming mode, `nm_shm_copy_streaming` on CPUs without AVX-512
/// folding) writes around the caches at memory speed. Cores on different dies or sockets are
/// one such case. The host's slow phases on the 2-vCPU VM of docs/BENCHMARKS.md (runs 10 and 11) are another:
/// plain copies into a slot ran at about 2 GB/s there, streaming ones at 13-19.
///
/// The policy times the sender's copies only. It keeps the plain copy unless streaming is more than twice as
/// fast, because streaming also costs the receiver a read from memory instead of a cache. Every
/// `probeInterval` large copies it tries the other kind. The interval starts at `firstProbeInterval`,
/// doubles while the choice holds, up to `maxProbeInterval`, and starts over when the choice changes.
/// Either kind copies the same bytes, so the choice never affects what arrives.
public struct SlotCopyPolicy: Sendable {
    public enum Kind: Equatable, Sendable { case plain, streaming }

    /// Frames below this size are always copied plainly (streaming pays off only for bulk data).
    public static let largeFrameBytes = 64 << 10
    public static let firstProbeInterval = 8
    public static let maxProbeInterval = 1024
    /// Weight of a new sample in the running cost of the kind in use (recent copies count most).
    static let sampleWeight = 0.5

    /// The kind large frames use (apart from probes).
    public private(set) var choice = Kind.plain
    /// Running cost of each kind in nanoseconds per byte; nil until measured.
    public private(set) var plainCost: Double?
    public private(set) var streamingCost: Double?
    private var probeInterval = Self.firstProbeInterval
    private var untilProbe = Self.firstProbeInterval

    public init() {}

    /// The kind to copy a frame of `bytes` with.
    public mutating func kind(forBytes bytes: Int) -> Kind {
        guard bytes >= Self.largeFrameBytes else { return .plain }
        untilProbe -= 1
        guard untilProbe <= 0 else { return choice }
        untilProbe = probeInterval
        return choice == .plain ? .streaming : .plain
    }

    /// Records that copying `bytes` with `kind` took `nanoseconds`, and re-decides. Returns true when the
    /// choice changed.
    @discardableResult
    public mutating func record(_ kind: Kind, bytes: Int, nanoseconds: Int64) -> Bool {
        guard bytes >= Self.largeFrameBytes else { return false }
        let sample = Double(max(nanoseconds, 0)) / Double(bytes)
        // The kind in use is measured often: a moving average. A probe is the only fresh measure of the
        // other kind: it replaces the old one, so a phase that ended is noticed at the next probe.
        let inUse = kind == choice
        let update = { (old: Double?) in inUse ? old.map { $0 + Self.sampleWeight * (sample - $0) } ?? sample : sample }
        switch kind {
        case .plain: plainCost = update(plainCost)
        case .streaming: streamingCost = update(streamingCost)
        }
        var decided = Kind.plain
        if let plain = plainCost, let streaming = streamingCost, 2 * streaming < plain { decided = .streaming }
        if decided != choice {
            choice = decided
            probeInterval = Self.firstProbeInterval
            untilProbe = probeInterval
            return true
        }
        if kind != choice { probeInterval = min(2 * probeInterval, Self.maxProbeInterval) }
        return false
    }
}
