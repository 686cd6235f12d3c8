import TensorCore
import Wire

// MARK: - Exact mode: integer reduce-scatter, float all-gather

extension RingAllReduce {
    /// Exact all-reduce (SYSTEM.md §4): reduce-scatter of the fixed-point `fixed` values as `Int64`; each
    /// rank converts the segment it owns to float once, in the same pass as its last addition
    /// (`fixedAddPackedToFloat`), and the all-gather distributes those floats. Every rank ends with the same
    /// bits in `floats`, and they depend only on the integer sums, hence not on the world size or the ring order.
    ///
    /// The reduce-scatter usually carries the integers at 5 bytes (`Int64.packedForWire`) and the all-gather
    /// carries 4-byte floats, so exact mode moves about 1.13x the bytes of float mode (not 2x). `fixed` is
    /// left holding partial sums (scratch). fixed, floats: [n].
    /// An overflow anywhere (poison) becomes NaN at that element on every rank and throws
    /// `CollectiveFailed` with reason `.fixedPointOverflow` on every rank, after the collective completed.
    public func allReduceExact(_ fixed: UnsafeMutableBufferPointer<Int64>,
                               into floats: UnsafeMutableBufferPointer<Float>,
                               format: FixedPointFormat = .standard, buckets: [Range<Int>]? = nil,
                               readiness: BucketReadiness? = nil, step: UInt64) throws(CollectiveFailed) {
        precondition(fixed.count == floats.count, "allReduceExact: \(fixed.count) integers for \(floats.count) floats")
        firstNaNSeen = nil
        try forEachBucket(buckets ?? [0..<fixed.count], count: fixed.count, readiness: readiness, step: step) {
            index, bucket throws(CollectiveFailed) in
            var context = ChunkContext(step: step, bucket: index, base: bucket.lowerBound)
            let integers = UnsafeMutableBufferPointer(rebasing: fixed[bucket])
            let results = UnsafeMutableBufferPointer(rebasing: floats[bucket])
            // As many elements per chunk as the float all-gather (and float mode): integers usually travel
            // at 5 bytes (`Int64.packedForWire`), and fewer, larger chunks mean fewer per-chunk round trips.
            let plan = RingPlan(count: bucket.count, rank: rank, size: size,
                                chunkElements: max(1, options.chunkBytes / 4))
            if size == 1 {
                convert(UnsafeBufferPointer(integers), into: results, at: bucket.lowerBound, format: format)
            } else {
                try run(plan.steps.prefix(size - 2), region: integers, context: context)
                // The last reduce-scatter step completes the owned segment: add and convert in one pass.
                let last = plan.steps[size - 2 ..< size - 1]
                try run(last, region: integers, context: context) { payload, width, range in
                    let sums = UnsafeMutableBufferPointer(rebasing: results[range])
                    let partial = UnsafeBufferPointer(rebasing: integers[range])
                    if !fixedAddPackedToFloat(payload, width: Int(width), partial, into: sums, format: format),
                       self.firstNaNSeen == nil {
                        self.firstNaNSeen = bucket.lowerBound + range.lowerBound + firstNaN(UnsafeBufferPointer(sums))!
                    }
                }
            }
            context.detectNaN = true
            let gather = RingPlan(count: bucket.count, rank: rank, size: size,
                                  chunkElements: max(1, options.chunkBytes / 4))
            try run(gather.steps.dropFirst(size - 1), region: results, context: context)
        }
        if let firstBad = firstNaNSeen {
            throw failure(.fixedPointOverflow(.overflow(index: firstBad, format: format)), step: step, bucket: 0)
        }
    }
}

extension RingAllReduce {
    /// results = float(integers), noting the first poisoned element (`offset`: the bucket's place).
    fileprivate func convert(_ integers: UnsafeBufferPointer<Int64>, into results: UnsafeMutableBufferPointer<Float>,
                             at offset: Int, format: FixedPointFormat) {
        if !floatFromFixed(integers, results, format: format), firstNaNSeen == nil {
            firstNaNSeen = offset + firstNaN(UnsafeBufferPointer(results))!
        }
    }
}

/// Index of the first NaN in x (vectorised test, scalar search only when one is present). x: [n].
public func firstNaN(_ x: UnsafeBufferPointer<Float>) -> Int? {
    guard let base = x.baseAddress else { return nil }
    let raw = UnsafeRawPointer(base)
    var i = 0
    var seen = SIMDMask<SIMD16<Int32>>(repeating: false)
    while i + 16 <= x.count {
        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        seen .|= v .!= v
        i += 16
    }
    if !any(seen) && !x[i...].contains(where: \.isNaN) { return nil }
    return x.firstIndex(where: \.isNaN)
}
