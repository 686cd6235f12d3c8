import TensorCore
import Wire

// MARK: - Exact mode: integer reduce-scatter, float all-gather

extension RingAllReduce {
    /// Exact all-reduce (SYSTEM.md §4) of an accumulator's fixed-point sum: reduce-scatter of the integers, each
    /// rank converts the segment it owns to float once, in the same pass as its last addition, and the
    /// all-gather distributes those floats. Every rank ends with the same bits in `floats`, and they depend
    /// only on the integer sums, hence not on the world size or the ring order.
    ///
    /// The integers usually travel at 5 bytes (planar form) and the floats at 4, so exact mode moves about
    /// 1.13x the bytes of float mode (not 2x). The first reduce-scatter step lends the accumulator's wire
    /// image (`FixedPointAccumulator.wireImage`) zero-copy, later steps add the received chunk to it and pack
    /// the sum in one pass (`fixedSumPackIfFits`), and the last one converts (`fixedSumToFloat`): no 8-byte
    /// integer is read or written unless a value needs more than 5 bytes. The accumulator is left unchanged.
    /// floats: [accumulator.count]. `buckets` and `readiness` as in `allReduce(_:buckets:readiness:step:)`.
    /// An overflow anywhere (poison) becomes NaN at that element on every rank and throws
    /// `CollectiveFailed` with reason `.fixedPointOverflow` on every rank, after the collective completed.
    public func allReduceExact(_ accumulator: FixedPointAccumulator, into floats: UnsafeMutableBufferPointer<Float>,
                               buckets: [Range<Int>]? = nil, readiness: BucketReadiness? = nil,
                               step: UInt64) throws(CollectiveFailed) {
        try accumulator.withValues { values throws(CollectiveFailed) in
            try allReduceExact(.fixed(values, image: accumulator.wireImage), into: floats,
                               format: accumulator.format, buckets: buckets, readiness: readiness, step: step)
        }
    }

    /// Exact all-reduce of plain fixed-point values (as above, without a wire image: every chunk is packed
    /// here). `fixed` is left unchanged. fixed, floats: [n].
    public func allReduceExact(_ fixed: UnsafeBufferPointer<Int64>, into floats: UnsafeMutableBufferPointer<Float>,
                               format: FixedPointFormat = .standard, buckets: [Range<Int>]? = nil,
                               readiness: BucketReadiness? = nil, step: UInt64) throws(CollectiveFailed) {
        try allReduceExact(.fixed(fixed, image: { _ in nil }), into: floats, format: format, buckets: buckets,
                           readiness: readiness, step: step)
    }

    /// Exact all-reduce of one float contribution per rank (a worker that computed a single shard), in place:
    /// every rank ends with float(Σ round(values · 2^f)) over the ranks, the same bits as if each rank had
    /// added its values to a `FixedPointAccumulator` and reduced that, but without the conversion pass and the
    /// 13 bytes per element it writes. The floats travel as they are on the first reduce-scatter step (4 bytes,
    /// not 5) and are converted where they are added (FixedOperand.swift). values: [n].
    /// An input outside the format's range (NaN, ±Inf, |x| >= 2^m) is poison where it is added, so like an
    /// overflow it becomes NaN there on every rank and throws `.fixedPointOverflow` on every rank, after the
    /// collective completed. A one-rank ring converts in place (the same rounding).
    public func allReduceExact(_ values: UnsafeMutableBufferPointer<Float>, format: FixedPointFormat = .standard,
                               buckets: [Range<Int>]? = nil, readiness: BucketReadiness? = nil,
                               step: UInt64) throws(CollectiveFailed) {
        try allReduceExact(.floats(UnsafeBufferPointer(values)), into: values, format: format, buckets: buckets,
                           readiness: readiness, step: step)
    }

    /// This rank's contribution to an exact all-reduce.
    enum ExactOperand {
        /// Fixed-point values, and their 5-byte wire image where there is one.
        case fixed(UnsafeBufferPointer<Int64>, image: (Range<Int>) -> FixedPlanes?)
        /// Floats, converted where they are added; the same memory as the results (in place).
        case floats(UnsafeBufferPointer<Float>)

        var count: Int {
            switch self {
            case let .fixed(values, _): values.count
            case let .floats(values): values.count
            }
        }

        /// Values `range` (absolute) as a kernel operand: the narrowest planes at hand, or the floats.
        func operand(_ range: Range<Int>, format: FixedPointFormat) -> FixedOperand {
            switch self {
            case let .fixed(values, image):
                .planes(image(range) ?? FixedPlanes(UnsafeBufferPointer(rebasing: values[range])))
            case let .floats(values):
                .floats(UnsafeBufferPointer(rebasing: values[range]), format: format)
            }
        }
    }

    private func allReduceExact(_ own: ExactOperand, into floats: UnsafeMutableBufferPointer<Float>,
                                format: FixedPointFormat, buckets: [Range<Int>]?, readiness: BucketReadiness?,
                                step: UInt64) throws(CollectiveFailed) {
        precondition(own.count == floats.count, "allReduceExact: \(own.count) values for \(floats.count) floats")
        firstNaNSeen = nil
        try forEachBucket(buckets ?? [0..<floats.count], count: floats.count, readiness: readiness, step: step) {
            index, bucket throws(CollectiveFailed) in
            let results = UnsafeMutableBufferPointer(rebasing: floats[bucket])
            guard size > 1 else {
                if !fixedToFloat(own.operand(bucket, format: format), into: results, format: format),
                   firstNaNSeen == nil {
                    firstNaNSeen = bucket.lowerBound + firstNaN(UnsafeBufferPointer(results))!
                }
                return
            }
            let context = ChunkContext(step: step, bucket: index, base: bucket.lowerBound, detectNaN: true)
            try reduceExact(own, bucket: bucket, into: results, format: format, context: context)
        }
        if let firstBad = firstNaNSeen {
            throw failure(.fixedPointOverflow(.overflow(index: firstBad, format: format)), step: step, bucket: 0)
        }
    }

    /// Both phases of one bucket, in one run (so the first all-gather chunk leaves while the last
    /// reduce-scatter chunk is still being added). Reduce-scatter: a chunk received at ring step s
    /// (s < size - 2) is added to this rank's values and sent on at step s + 1, so its sum lives only as an
    /// outgoing payload in `sums` (keyed by its range) in between; at the last step the sum is converted into
    /// `results` instead. All-gather: the float sums, sent from and stored into `results`.
    private func reduceExact(_ own: ExactOperand, bucket: Range<Int>,
                             into results: UnsafeMutableBufferPointer<Float>, format: FixedPointFormat,
                             context: ChunkContext) throws(CollectiveFailed) {
        // As many elements per chunk as float mode: integers usually travel at 5 bytes, and fewer, larger
        // chunks mean fewer per-chunk round trips.
        let plan = RingPlan(count: bucket.count, rank: rank, size: size, chunkElements: max(1, options.chunkBytes / 4))
        let base = bucket.lowerBound
        var sums: [Int: OutgoingChunk] = [:]
        // Received chunks whose sums `prepare` writes straight into the next rank's slot (`InPlaceSending`);
        // each holds the slot it arrived in until then (see `heldForInPlaceSums`).
        var summedWhereSent: [Int: ArrivedChunk] = [:]
        try run(plan.steps[...], reduceScatterAs: ChunkElement(Int64.self), allGatherAs: ChunkElement(Float.self),
                firstStepAs: .exactContribution, context: context, prepare: { range, planStep in
            switch (planStep.phase, planStep.ringStep) {
            case (.allGather, _):
                return prepareChunk(UnsafeBufferPointer(results), range: range)
            case (.reduceScatter, 0):
                return ownChunk(own, (base + range.lowerBound)..<(base + range.upperBound))
            case (.reduceScatter, _):
                if let arrived = summedWhereSent.removeValue(forKey: range.lowerBound) {
                    let mine = own.operand((base + range.lowerBound)..<(base + range.upperBound), format: format)
                    return OutgoingChunk { area in self.writePartialSum(arrived, mine, format: format, into: area) }
                }
                guard let sum = sums.removeValue(forKey: range.lowerBound) else {
                    preconditionFailure("allReduceExact: chunk \(range) sent before its sum was computed")
                }
                return sum
            }
        }, absorb: { chunk throws(CollectiveFailed) in
            guard chunk.planStep.phase == .reduceScatter else {
                try take(chunk, into: results, context: context)
                return
            }
            if chunk.planStep.ringStep < size - 2, inPlaceNext != nil,
               chunk.planStep.transfers.count <= Self.heldForInPlaceSums {
                summedWhereSent[chunk.range.lowerBound] = chunk
                return
            }
            let mine = own.operand((base + chunk.range.lowerBound)..<(base + chunk.range.upperBound), format: format)
            try checked(chunk, context: context) { () throws(PayloadMismatch) in
                guard chunk.planStep.ringStep == size - 2 else {
                    sums[chunk.range.lowerBound] = try partialSum(chunk, mine, format: format)
                    return
                }
                let totals = UnsafeMutableBufferPointer(rebasing: results[chunk.range])
                var inRange = true
                try chunk.forEachBlock { elements, payload in
                    let block = UnsafeMutableBufferPointer(rebasing: totals[elements])
                    inRange = fixedSumToFloat(payload.operand(width: chunk.width, format: format),
                                              mine.slice(elements), into: block, format: format) && inRange
                }
                if !inRange, firstNaNSeen == nil {
                    firstNaNSeen = base + chunk.range.lowerBound + firstNaN(UnsafeBufferPointer(totals))!
                }
            }
        })
    }

    /// This rank's own values of `range` (absolute) as a payload: floats as they are, or the wire image lent
    /// zero-copy, else packed.
    private func ownChunk(_ own: ExactOperand, _ range: Range<Int>) -> OutgoingChunk {
        switch own {
        case let .floats(values):
            return prepareChunk(values, range: range)
        case let .fixed(values, image):
            if let image = image(range) {
                return OutgoingChunk(frames: [lend(image.lowPlane), lend(image.highPlane)], width: 5)
            }
            return prepareChunk(values, range: range)
        }
    }

    /// received + mine as the payload to send on: packed at 5 bytes in one pass (block by block, each block
    /// checked as it is read: `ArrivedChunk.forEachBlock`), or, when a sum needs more (or overflowed into
    /// poison), the 8-byte sums packed as narrow as they fit.
    private func partialSum(_ chunk: ArrivedChunk, _ mine: FixedOperand,
                            format: FixedPointFormat) throws(PayloadMismatch) -> OutgoingChunk {
        var mismatch: PayloadMismatch?
        let packed = fixedPlaneFrames(count: mine.count, width: 5) { planes in
            do throws(PayloadMismatch) {
                return try packSum(chunk, mine, format: format, into: planes) { _ in }
            } catch {
                mismatch = error
                return false
            }
        }
        if let mismatch { throw mismatch }
        if let frames = packed {
            return OutgoingChunk(frames: frames, width: 5)
        }
        return wideSum(chunk, mine, format: format)
    }

    /// received + mine packed at 5 bytes into `planes`, block by block as `forEachBlock` hands the received
    /// chunk over (each block checked as it is read), `packed` seeing each block's planes right after; false
    /// as soon as a sum needs more than 5 bytes (later blocks are then only checked).
    private func packSum(_ chunk: ArrivedChunk, _ mine: FixedOperand, format: FixedPointFormat,
                         into planes: MutableFixedPlanes,
                         packed: (MutableFixedPlanes) -> Void) throws(PayloadMismatch) -> Bool {
        var fits = true
        try chunk.forEachBlock { elements, payload in
            guard fits else { return }
            let block = planes.slice(elements)
            fits = fixedSumPackIfFits(payload.operand(width: chunk.width, format: format), mine.slice(elements),
                                      into: block)
            if fits { packed(block) }
        }
        return fits
    }

    /// Most received chunks a step may hold until their sums are written in place. A chunk is held from its
    /// absorb until it is sent on at the next step, so a step of K chunks holds up to K slots of this rank's
    /// mailbox, plus the one being received; a mailbox has at least 2 slots, and this rank frees one (a send)
    /// before each receive, so K <= 2 can never leave the previous rank without a slot.
    static let heldForInPlaceSums = 2

    /// received + mine written into `area` (a slot of the next rank: `InPlaceSending`) at 5 bytes, as two planes
    /// (the high one from the next 64-byte boundary), block by block with each block's CRC taken while it is
    /// in cache; when a sum needs more, `wideSum`'s frames copied in. A received payload that fails its CRC is
    /// recorded in `writtenFromCorruptPayload`, and the CRC returned is wrong on purpose, so that the next
    /// rank drops the chunk too. Returns the frames written, their width and CRC32C.
    func writePartialSum(_ chunk: ArrivedChunk, _ mine: FixedOperand, format: FixedPointFormat,
                         into area: UnsafeMutableRawBufferPointer) -> (frames: [Range<Int>], width: UInt32,
                                                                       crc: UInt32) {
        let count = mine.count
        let highStart = SlotLayout.aligned(4 * count)
        let frames = [0..<(4 * count), highStart..<(highStart + count)]
        let planes = MutableFixedPlanes(low: UnsafeMutableRawBufferPointer(rebasing: area[frames[0]]),
                                        high: UnsafeMutableRawBufferPointer(rebasing: area[frames[1]]), width: 5)
        var low: UInt32 = 0, high: UInt32 = 0
        let fits: Bool
        do throws(PayloadMismatch) {
            fits = try packSum(chunk, mine, format: format, into: planes) { block in
                low = crc32c(block.readOnly.lowPlane, seed: low)
                high = crc32c(block.readOnly.highPlane, seed: high)
            }
        } catch {
            writtenFromCorruptPayload = (error, chunk.planStep)
            return (frames, 5, ~crc32cCombine(low, high, secondLength: count))
        }
        if fits { return (frames, 5, crc32cCombine(low, high, secondLength: count)) }
        // Rare: sums beyond 2^39, or poison (the payload was checked above).
        let wide = wideSum(chunk, mine, format: format)
        var written: [Range<Int>] = [], crc: UInt32 = 0, offset = 0
        for frame in wide.frames {
            frame.withUnsafeBytes { bytes in
                let start = area.baseAddress! + offset
                start.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
                crc = crc32c(UnsafeRawBufferPointer(start: start, count: bytes.count), seed: crc)
                written.append(offset..<(offset + bytes.count))
                offset = SlotLayout.aligned(offset + bytes.count)
            }
        }
        return (written, wide.width, crc)
    }

    /// received + mine as 8-byte sums packed as narrow as they fit (6 or 8 bytes): the rare middle step whose
    /// sums outgrew 5 bytes (beyond 2^39) or overflowed into poison. For a payload already checked.
    private func wideSum(_ chunk: ArrivedChunk, _ mine: FixedOperand, format: FixedPointFormat) -> OutgoingChunk {
        chunk.withPayloadBytes { payload in
            var wide = [Int64](repeating: 0, count: mine.count)
            let received = payload.operand(width: chunk.width, format: format)
            wide.withUnsafeMutableBufferPointer { _ = fixedSum(received, mine, into: $0) }
            return wide.withUnsafeBufferPointer { sums in   // 5 bytes did not hold them: try 6 only
                fixedPackedNarrowest(sums).map { OutgoingChunk(frames: $0.frames, width: $0.width) }
                    ?? OutgoingChunk(frames: [Frame(copying: UnsafeRawBufferPointer(sums))], width: 8)
            }
        }
    }
}

extension RingPayload {
    /// Exact mode's reduce-scatter payload as an operand: floats at width 4 (the first step), else planes.
    func operand(width: UInt32, format: FixedPointFormat) -> FixedOperand {
        width == 4 ? .floats(first, format) : .planes(fixedPlanes(width: width))
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
