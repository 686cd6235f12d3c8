import Synchronization

// MARK: - Summing several shards' gradients in fixed point before the ring

/// An `Int64` arena that sums float gradients exactly: one worker adds the gradients of each virtual
/// shard it computed, the ring all-reduces `values` across workers, and `readFloats` converts back.
///
/// Because every shard is converted on its own and summed as integers, the result equals any other
/// grouping of the same shards into workers, bit for bit (SYSTEM.md §4).
///
/// Beside the integers it keeps their *wire image*: the same values in the 5-byte planar form the ring sends
/// (FixedPlanes.swift), written by every add while the block is still in cache. The ring then lends the
/// image's planes as the first reduce-scatter step's payload and adds received chunks to them, instead of
/// packing and re-reading 8-byte integers inside the collective, where exact mode's time goes. Blocks holding a value
/// that needs more than 5 bytes (a gradient element beyond 2^-1 at the standard scale) are listed as unfit
/// and take the 8-byte path.
public final class FixedPointAccumulator {
    public let format: FixedPointFormat
    public let count: Int
    private let storage: UnsafeMutableBufferPointer<Int64>
    /// The wire image: low 4 bytes and high byte of every value. [count] each.
    private let imageLow: UnsafeMutableBufferPointer<UInt32>
    private let imageHigh: UnsafeMutableBufferPointer<Int8>
    /// Ranges whose image is not valid: a value does not fit 5 bytes, or `withMutableValues` may have changed
    /// the integers behind it (then the whole range, until the next reset). Producers adding disjoint buckets
    /// append while the ring reads, hence the lock.
    private let unfit = Mutex<[Range<Int>]>([])
    /// True while the logical value is all zeros but `storage` was not cleared: the next shard is then
    /// converted straight into `storage` (one pass, no memset, no integer add).
    private var pristine = true

    /// Conversion block: float -> fixed lands in a small scratch buffer that stays in L1 before it is added.
    private static let blockElements = 2048

    /// A zeroed accumulator of `count` elements.
    public init(count: Int, format: FixedPointFormat = .standard) {
        precondition(count >= 0, "FixedPointAccumulator: negative count")
        self.count = count
        self.format = format
        storage = .allocate(capacity: max(count, 1))
        storage.initialize(repeating: 0)
        imageLow = .allocate(capacity: max(count, 1))
        imageLow.initialize(repeating: 0)
        imageHigh = .allocate(capacity: max(count, 1))
        imageHigh.initialize(repeating: 0)
    }

    deinit {
        storage.deallocate()
        imageLow.deallocate()
        imageHigh.deallocate()
    }

    /// Sets every element back to zero (lazily: the next `add` overwrites instead of adding).
    public func reset() {
        pristine = true
    }

    /// Clears the storage if a reset is still pending (before anyone reads or adds into it).
    private func materialize() {
        guard pristine else { return }
        storage.update(repeating: 0)
        imageLow.update(repeating: 0)
        imageHigh.update(repeating: 0)
        startFreshImage()
        pristine = false
    }

    /// Forgets unfit ranges: every value is about to be (or was just) written anew.
    private func startFreshImage() {
        unfit.withLock { $0.removeAll() }
    }

    /// The image planes of `range`. Width 5.
    private func imagePlanes(_ range: Range<Int>) -> MutableFixedPlanes {
        MutableFixedPlanes(low: UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: imageLow[range])),
                           high: UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: imageHigh[range])),
                           width: 5)
    }

    /// Writes the image of `storage[range]` (just written, so still in cache) and lists the range if it does
    /// not fit.
    private func refreshImage(_ range: Range<Int>) {
        let values = UnsafeBufferPointer(rebasing: storage[range])
        if !fixedPackIfFits(values, into: imagePlanes(range)) {
            unfit.withLock { $0.append(range) }
        }
    }

    /// Adds one shard's float gradients. shard: [count] float.
    /// Throws on the first out-of-range input or overflowing sum (the accumulator then holds poison there).
    public func add(_ shard: UnsafeBufferPointer<Float>) throws(FixedPointError) {
        precondition(shard.count == count, "FixedPointAccumulator.add: \(shard.count) values for \(count)")
        if pristine {   // first shard since a reset: convert straight into storage, block by block
            pristine = false
            startFreshImage()
            var firstBad: Int?
            for start in stride(from: 0, to: count, by: Self.blockElements) {
                let block = start..<min(start + Self.blockElements, count)
                let target = UnsafeMutableBufferPointer(rebasing: storage[block])
                if !fixedFromFloat(UnsafeBufferPointer(rebasing: shard[block]), target, format: format),
                   firstBad == nil {
                    firstBad = start + firstPoison(UnsafeBufferPointer(target))!
                }
                refreshImage(block)
            }
            if let bad = firstBad { throw .inputOutOfRange(index: bad, value: shard[bad], format: format) }
            return
        }
        try add(shard, at: 0)
    }

    /// Adds float gradients to elements `offset ..< offset + values.count` (one bucket of a shard, e.g.
    /// right after backward finished it, before marking it ready for the ring). values: [m] float.
    /// Calls on disjoint ranges may run on a producer thread while the ring thread reduces other buckets,
    /// provided the accumulator already holds values (a whole-shard `add` or `withValues` happened first).
    public func add(_ values: UnsafeBufferPointer<Float>, at offset: Int) throws(FixedPointError) {
        precondition(offset >= 0 && offset + values.count <= count,
                     "FixedPointAccumulator.add: \(values.count) values at \(offset) exceed \(count)")
        materialize()
        let block = Self.blockElements
        let scratch = UnsafeMutableBufferPointer<Int64>.allocate(capacity: block)
        defer { scratch.deallocate() }
        var start = 0
        while start < values.count {
            let n = min(block, values.count - start)
            let source = UnsafeBufferPointer(rebasing: values[start..<(start + n)])
            let converted = UnsafeMutableBufferPointer(rebasing: scratch[0..<n])
            if !fixedFromFloat(source, converted, format: format) {
                let bad = (0..<n).first { converted[$0] == FixedPointFormat.poison }!
                throw .inputOutOfRange(index: offset + start + bad, value: source[bad], format: format)
            }
            let block = (offset + start)..<(offset + start + n)
            let target = UnsafeMutableBufferPointer(rebasing: storage[block])
            let added = fixedAdd(UnsafeBufferPointer(converted), into: target)
            refreshImage(block)
            if !added {
                throw .overflow(index: offset + start + firstPoison(UnsafeBufferPointer(target))!, format: format)
            }
            start += n
        }
    }

    /// Adds another accumulator's integers (e.g. a partial sum received from elsewhere).
    public func add(_ other: FixedPointAccumulator) throws(FixedPointError) {
        precondition(other.count == count && other.format == format, "FixedPointAccumulator.add: shape mismatch")
        other.materialize()
        materialize()
        var added = true
        for start in stride(from: 0, to: count, by: Self.blockElements) {   // add, then image it while in cache
            let block = start..<min(start + Self.blockElements, count)
            added = fixedAdd(UnsafeBufferPointer(rebasing: other.storage[block]),
                             into: UnsafeMutableBufferPointer(rebasing: storage[block])) && added
            refreshImage(block)
        }
        if !added {
            throw .overflow(index: firstPoison(UnsafeBufferPointer(rebasing: storage[0..<count]))!, format: format)
        }
    }

    /// The integers (what the ring all-reduces in exact mode), read-only.
    public func withValues<R, E: Error>(_ body: (UnsafeBufferPointer<Int64>) throws(E) -> R) throws(E) -> R {
        materialize()
        return try body(UnsafeBufferPointer(rebasing: storage[0..<count]))
    }

    /// The integers, writable (e.g. for an all-reduce of the integers themselves). The wire image is not
    /// used again until the next `reset`, since `body` may change the values behind it.
    public func withMutableValues<R, E: Error>(_ body: (UnsafeMutableBufferPointer<Int64>) throws(E) -> R)
        throws(E) -> R {
        materialize()
        unfit.withLock { $0.append(0..<count) }
        return try body(UnsafeMutableBufferPointer(rebasing: storage[0..<count]))
    }

    /// The wire image of values `range`: planes of width 5 holding exactly `values[range]`, or nil if a value
    /// there needs more than 5 bytes or the image is stale. May be called while producers add other ranges.
    public func wireImage(_ range: Range<Int>) -> FixedPlanes? {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "wireImage: \(range) outside 0..<\(count)")
        materialize()
        if unfit.withLock({ $0.contains { $0.overlaps(range) } }) { return nil }
        return imagePlanes(range).readOnly
    }

    /// Converts the sum back to float. floats: [count]. Throws if any element is poison.
    public func readFloats(into floats: UnsafeMutableBufferPointer<Float>) throws(FixedPointError) {
        precondition(floats.count == count, "FixedPointAccumulator.readFloats: \(floats.count) for \(count)")
        materialize()
        let values = UnsafeBufferPointer(rebasing: storage[0..<count])
        if !floatFromFixed(values, floats, format: format) {
            throw .overflow(index: firstPoison(values)!, format: format)
        }
    }
}

/// Index of the first poison element, if any (slow path after a kernel reported failure).
public func firstPoison(_ values: UnsafeBufferPointer<Int64>) -> Int? {
    values.firstIndex(of: FixedPointFormat.poison)
}
