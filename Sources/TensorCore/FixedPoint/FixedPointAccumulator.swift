// MARK: - Summing several shards' gradients in fixed point before the ring

/// An `Int64` arena that sums float gradients exactly: one worker adds the gradients of each virtual
/// shard it computed, the ring all-reduces `values` across workers, and `readFloats` converts back.
///
/// Because every shard is converted on its own and summed as integers, the result equals any other
/// grouping of the same shards into workers, bit for bit (SYSTEM.md §4).
public final class FixedPointAccumulator {
    public let format: FixedPointFormat
    public let count: Int
    private let storage: UnsafeMutableBufferPointer<Int64>
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
    }

    deinit { storage.deallocate() }

    /// Sets every element back to zero (lazily: the next `add` overwrites instead of adding).
    public func reset() {
        pristine = true
    }

    /// Clears the storage if a reset is still pending (before anyone reads or adds into it).
    private func materialize() {
        if pristine { storage.update(repeating: 0) }
        pristine = false
    }

    /// Adds one shard's float gradients. shard: [count] float.
    /// Throws on the first out-of-range input or overflowing sum (the accumulator then holds poison there).
    public func add(_ shard: UnsafeBufferPointer<Float>) throws(FixedPointError) {
        precondition(shard.count == count, "FixedPointAccumulator.add: \(shard.count) values for \(count)")
        if pristine {   // first shard since a reset: convert straight into storage
            pristine = false
            let target = UnsafeMutableBufferPointer(rebasing: storage[0..<count])
            if !fixedFromFloat(shard, target, format: format) {
                let bad = firstPoison(UnsafeBufferPointer(target))!
                throw .inputOutOfRange(index: bad, value: shard[bad], format: format)
            }
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
            let target = UnsafeMutableBufferPointer(rebasing: storage[(offset + start)..<(offset + start + n)])
            if !fixedAdd(UnsafeBufferPointer(converted), into: target) {
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
        let target = UnsafeMutableBufferPointer(rebasing: storage[0..<count])
        if !fixedAdd(UnsafeBufferPointer(rebasing: other.storage[0..<count]), into: target) {
            throw .overflow(index: firstPoison(UnsafeBufferPointer(target))!, format: format)
        }
    }

    /// The integers (what the ring all-reduces in exact mode).
    public func withValues<R, E: Error>(_ body: (UnsafeMutableBufferPointer<Int64>) throws(E) -> R) throws(E) -> R {
        materialize()
        return try body(UnsafeMutableBufferPointer(rebasing: storage[0..<count]))
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
