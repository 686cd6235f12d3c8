import Comm
import Foundation
import TensorCore
import Testing
import TestSupport
import Wire

/// The executor over N in-process ranks (N threads): exact sums, bitwise stability, buckets, stale chunks.
@Suite("RingAllReduce")
struct RingAllReduceTests {
    static let runID = RunID(high: 0xA11, low: 0x2ED)

    static func cases(size: Int) -> [(count: Int, chunkBytes: Int)] {
        var cases: [(Int, Int)] = []
        for count in Set([0, 1, max(size - 1, 1), size + 1, 1021]) {
            for chunkBytes in [8, 24, 4096] { cases.append((count, chunkBytes)) }
        }
        cases.append((100_003, 4096))
        cases.append((100_003, 1 << 20))
        return cases
    }

    @Test("float and exact mode give the exactly known sum on every rank", arguments: Array(1...16))
    func knownSums(size: Int) {
        for (count, chunkBytes) in Self.cases(size: size) {
            let options = RingOptions(runID: Self.runID, chunkBytes: chunkBytes, timeout: .seconds(10))
            let results = runRanks(size: size, runID: Self.runID, options: options) { r, ring in
                var floats = (0..<count).map { Float(knownInput(rank: r, index: $0)) }
                var fixed = (0..<count).map { Int64(knownInput(rank: r, index: $0)) << 40 }
                try floats.withUnsafeMutableBufferPointer { try ring.allReduce($0, step: 1) }
                try fixed.withUnsafeMutableBufferPointer { try ring.allReduce($0, step: 2) }
                let floatOK = floats.indices.allSatisfy { floats[$0] == Float(knownSum(size: size, index: $0)) }
                let fixedOK = fixed.indices.allSatisfy { fixed[$0] == Int64(knownSum(size: size, index: $0)) << 40 }
                return floatOK && fixedOK && ring.counters.staleDropped == 0 && ring.counters.mismatchedDropped == 0
            }
            for (r, result) in results.enumerated() {
                #expect((try? result.get()) == true,
                        "size \(size) count \(count) chunk \(chunkBytes) rank \(r): \(result)")
            }
        }
    }

    @Test("exact mode: 16 shards summed by 1, 2, 3, 5 or 7 workers in shuffled orders give identical bits")
    func exactAcrossWorldSizes() throws {
        let count = 20_011, shardCount = 16
        let shards = (0..<shardCount).map { gradientLikeValues(count, tag: 300 + UInt32($0), highExponent: 13) }
        var reference: [Float]?
        var stream = CounterRNG(seed: 77).stream(1)
        for workers in [1, 2, 3, 5, 7] {
            var order = Array(0..<shardCount)
            for i in stride(from: shardCount - 1, to: 0, by: -1) { order.swapAt(i, stream.nextInt(below: i + 1)) }
            let assignment = order
            let options = RingOptions(runID: Self.runID, chunkBytes: 8 << 10, timeout: .seconds(10))
            let results = runRanks(size: workers, runID: Self.runID, options: options) { r, ring in
                let accumulator = FixedPointAccumulator(count: count)
                for (position, shard) in assignment.enumerated() where position % workers == r {
                    try shards[shard].withUnsafeBufferPointer { try accumulator.add($0) }
                }
                // Full Int64 all-reduce, and the exact mode proper (float all-gather): same bits.
                var viaIntegers = [Float](repeating: 0, count: count)
                let copy = FixedPointAccumulator(count: count)
                try copy.add(accumulator)
                try copy.withMutableValues { try ring.allReduce($0, step: 3) }
                try viaIntegers.withUnsafeMutableBufferPointer { try copy.readFloats(into: $0) }
                var out = [Float](repeating: 0, count: count)
                try accumulator.withValues { fixed in
                    try out.withUnsafeMutableBufferPointer { try ring.allReduceExact(fixed, into: $0, step: 4) }
                }
                expectBitwiseEqual(viaIntegers, out, "Int64 all-gather vs float all-gather, \(workers) workers")
                return out
            }
            for (r, result) in results.enumerated() {
                let values = try result.get()
                if let reference {
                    expectBitwiseEqual(values, reference, "\(workers) workers, rank \(r), shard order \(assignment)")
                } else {
                    reference = values
                }
            }
        }
    }

    @Test("a bucketed run, with buckets marked ready late from another thread, equals the one-shot run bit for bit",
          arguments: [2, 3, 5])
    func bucketsEqualOneShot(size: Int) throws {
        let count = 50_003
        let buckets = [0..<7, 7..<20_000, 20_000..<20_001, 20_001..<50_003]
        let options = RingOptions(runID: Self.runID, chunkBytes: 4096, timeout: .seconds(10))
        let results = runRanks(size: size, runID: Self.runID, options: options) { r, ring in
            let input = gradientLikeValues(count, tag: 500 + UInt32(r), highExponent: 10)
            let oneShot = FixedPointAccumulator(count: count)
            try input.withUnsafeBufferPointer { try oneShot.add($0) }
            try oneShot.withMutableValues { try ring.allReduce($0, step: 1) }

            var exactOneShot = [Float](repeating: 0, count: count)
            let scratch = FixedPointAccumulator(count: count)
            try input.withUnsafeBufferPointer { try scratch.add($0) }
            try scratch.withValues { f in
                try exactOneShot.withUnsafeMutableBufferPointer { try ring.allReduceExact(f, into: $0, step: 5) } }

            let bucketed = FixedPointAccumulator(count: count)
            try input.withUnsafeBufferPointer { try bucketed.add($0) }
            let readiness = BucketReadiness(buckets: buckets.count)
            let producer = Thread {   // "backward" finishes the buckets one by one
                for i in buckets.indices {
                    Thread.sleep(forTimeInterval: 0.01)
                    readiness.markReady(i)
                }
            }
            producer.start()
            try bucketed.withMutableValues { try ring.allReduce($0, buckets: buckets, readiness: readiness, step: 2) }
            let same = oneShot.withValues { a in bucketed.withValues { b in Array(a) == Array(b) } }
            var exactBucketed = [Float](repeating: 0, count: count)
            scratch.reset()
            try input.withUnsafeBufferPointer { try scratch.add($0) }
            let lateReadiness = BucketReadiness(buckets: buckets.count)
            let lateProducer = Thread {
                for i in buckets.indices.reversed() { Thread.sleep(forTimeInterval: 0.005); lateReadiness.markReady(i) }
            }
            lateProducer.start()
            try scratch.withValues { f in
                try exactBucketed.withUnsafeMutableBufferPointer {
                    try ring.allReduceExact(f, into: $0, buckets: buckets, readiness: lateReadiness, step: 6) }
            }
            let sameExact = exactBucketed.map(\.bitPattern) == exactOneShot.map(\.bitPattern)
            var floats = input
            try floats.withUnsafeMutableBufferPointer {
                try ring.allReduce($0, buckets: buckets, readiness: nil, step: 3) }
            return same && sameExact && !floats.elementsEqual(input)
        }
        for (r, result) in results.enumerated() {
            #expect((try? result.get()) == true, "rank \(r): \(result)")
        }
    }

    /// The accumulator's path lends its wire image and packs sums in one pass; the plain path packs every chunk.
    @Test("exact mode from an accumulator or plain integers gives the exact sum, also where sums outgrow 5 bytes",
          arguments: [1, 2, 3, 4, 7])
    func exactFromAccumulator(size: Int) throws {
        let count = 20_011
        let inputs = (0..<size).map { r in
            var x = gradientLikeValues(count, tag: 900 + UInt32(r), highExponent: -2)   // fits 5 bytes
            x[777] = 0.3                  // the sum of two ranks' 0.3 needs 6 bytes: the 8-byte path of partial sums
            if r == 0 { x[15_000] = 3 }   // rank 0's image refuses this block: its own values go as integers
            return x
        }
        let total = FixedPointAccumulator(count: count)   // the exact sum, in one place
        for x in inputs { try x.withUnsafeBufferPointer { try total.add($0) } }
        var expected = [Float](repeating: 0, count: count)
        try expected.withUnsafeMutableBufferPointer { try total.readFloats(into: $0) }
        let expectedBits = expected.map(\.bitPattern)
        for chunkBytes in [4096, 1 << 20] {
            let options = RingOptions(runID: Self.runID, chunkBytes: chunkBytes, timeout: .seconds(10))
            let results = runRanks(size: size, runID: Self.runID, options: options) { r, ring in
                let accumulator = FixedPointAccumulator(count: count)
                try inputs[r].withUnsafeBufferPointer { try accumulator.add($0) }
                let before = accumulator.withValues { Array($0) }
                var viaImage = [Float](repeating: 0, count: count), plain = viaImage
                try viaImage.withUnsafeMutableBufferPointer { try ring.allReduceExact(accumulator, into: $0, step: 1) }
                try accumulator.withValues { f in
                    try plain.withUnsafeMutableBufferPointer { try ring.allReduceExact(f, into: $0, step: 2) } }
                let unchanged = accumulator.withValues { Array($0) } == before
                return (viaImage.map(\.bitPattern), plain.map(\.bitPattern), unchanged)
            }
            for (r, result) in results.enumerated() {
                let (viaImage, plain, unchanged) = try result.get()
                let imageExact = viaImage == expectedBits, plainExact = plain == expectedBits   // (short messages)
                #expect(imageExact, "wire image path, size \(size), chunk \(chunkBytes), rank \(r)")
                #expect(plainExact, "plain path, size \(size), chunk \(chunkBytes), rank \(r)")
                #expect(unchanged, "the accumulator is left unchanged, rank \(r)")
            }
        }
    }

    @Test("training flow: backward converts bucket by bucket on another thread while the ring reduces; same bits")
    func overlappedConversion() throws {
        let size = 3, count = 40_009
        let buckets = [30_000..<40_009, 10_000..<30_000, 0..<10_000]   // backward: last layers first
        let options = RingOptions(runID: Self.runID, chunkBytes: 8192, timeout: .seconds(10))
        let results = runRanks(size: size, runID: Self.runID, options: options) { r, ring in
            // Realistic magnitudes, so the ring sends the wire image the backward thread is still writing.
            let shards = [gradientLikeValues(count, tag: 700 + UInt32(r), highExponent: -3),
                          gradientLikeValues(count, tag: 710 + UInt32(r), highExponent: -3)]
            // Reference: both shards accumulated whole, one-shot exact all-reduce.
            let whole = FixedPointAccumulator(count: count)
            for shard in shards { try shard.withUnsafeBufferPointer { try whole.add($0) } }
            var expected = [Float](repeating: 0, count: count)
            try whole.withValues { f in
                try expected.withUnsafeMutableBufferPointer { try ring.allReduceExact(f, into: $0, step: 1) } }
            // Overlapped: shard 0 whole; shard 1 bucket by bucket on a "backward" thread, marking each ready.
            let accumulator = FixedPointAccumulator(count: count)
            try shards[0].withUnsafeBufferPointer { try accumulator.add($0) }
            let readiness = BucketReadiness(buckets: buckets.count)
            let backward = Handoff(accumulator)
            let producer = Thread {
                for (i, bucket) in buckets.enumerated() {
                    Thread.sleep(forTimeInterval: 0.005)
                    try! shards[1].withUnsafeBufferPointer {
                        try backward.value.add(UnsafeBufferPointer(rebasing: $0[bucket]), at: bucket.lowerBound) }
                    readiness.markReady(i)
                }
            }
            producer.start()
            var overlapped = [Float](repeating: 0, count: count)
            try overlapped.withUnsafeMutableBufferPointer {
                try ring.allReduceExact(accumulator, into: $0, buckets: buckets, readiness: readiness, step: 2) }
            return overlapped.map(\.bitPattern) == expected.map(\.bitPattern)
        }
        for (r, result) in results.enumerated() {
            #expect((try? result.get()) == true, "rank \(r): \(result)")
        }
    }

    @Test("exact mode: an overflowing sum is reported on every rank at the same element; others stay exact",
          arguments: [false, true])
    func exactOverflow(fromAccumulator: Bool) {
        let size = 3, count = 5000
        let narrow = FixedPointFormat(fractionBits: 40, inputMagnitudeBits: 22)   // only 2 summands safe
        let options = RingOptions(runID: Self.runID, chunkBytes: 1024, timeout: .seconds(5))
        let results = runRanks(size: size, runID: Self.runID, options: options) { r, ring in
            var input = [Float](repeating: Float(r + 1), count: count)
            input[4321] = 4_100_000   // 3 x 4.1e6 x 2^40 > 2^63
            let accumulator = FixedPointAccumulator(count: count, format: narrow)
            try input.withUnsafeBufferPointer { try accumulator.add($0) }
            var out = [Float](repeating: 0, count: count)
            do {
                if fromAccumulator {
                    try out.withUnsafeMutableBufferPointer { try ring.allReduceExact(accumulator, into: $0, step: 1) }
                } else {
                    try accumulator.withValues { f in
                        try out.withUnsafeMutableBufferPointer {
                            try ring.allReduceExact(f, into: $0, format: narrow, step: 1) }
                    }
                }
            } catch let error as CollectiveFailed {
                let othersExact = out.indices.allSatisfy { $0 == 4321 ? out[$0].isNaN : out[$0] == 6 }
                return othersExact ? error.reason : nil
            }
            return nil
        }
        for (r, result) in results.enumerated() {
            #expect((try? result.get()) == .fixedPointOverflow(.overflow(index: 4321, format: narrow)), "rank \(r)")
        }
    }

    @Test("chunks of an older epoch or step, or at the wrong offset, are dropped and counted, not reduced")
    func staleChunks() throws {
        let size = 3, count = 1000
        let options = RingOptions(runID: Self.runID, membershipEpoch: 5, chunkBytes: 4096, timeout: .seconds(5))
        let results = runRanks(size: size, runID: Self.runID, options: options, prepare: { r, transport in
            guard r == 2 else { return }   // rank 1 sends to rank 2: inject poison-looking chunks first
            let plan = RingPlan(count: count, rank: 2, size: size, chunkElements: 1024)
            let first = plan.steps[0]
            let range = first.transfers[0].receive
            let header = RingChunkHeader(phase: .reduceScatter, ringStep: 0, segment: UInt32(first.receiveSegment),
                                         chunkIndex: 0, elementOffset: UInt64(range.lowerBound),
                                         elementCount: UInt64(range.count), elementBytes: 4)
            var wrongOffset = header
            wrongOffset.elementOffset += 1
            let junk = [UInt8](repeating: 0x4B, count: range.count * 4)   // 0x4B4B4B4B ≈ 1.3e7 as a float
            let injections: [(UInt64, UInt64, RingChunkHeader)] = [(4, 9, header), (5, 8, header), (5, 9, wrongOffset)]
            for (epoch, step, h) in injections {
                let envelope = Envelope(type: .ringChunkHeader, runID: Self.runID, membershipEpoch: epoch, step: step)
                try! transport.send(envelope, body: .ringChunkHeader(h), payload: [Frame(junk)],
                                    to: PeerID("ring-2"), timeout: .seconds(1))
            }
        }) { r, ring in
            var values = (0..<count).map { Float(knownInput(rank: r, index: $0)) }
            try values.withUnsafeMutableBufferPointer { try ring.allReduce($0, step: 9) }
            let exact = values.indices.allSatisfy { values[$0] == Float(knownSum(size: size, index: $0)) }
            return (exact, ring.counters.staleDropped, ring.counters.mismatchedDropped)
        }
        let outcomes = try results.map { try $0.get() }
        #expect(outcomes.allSatisfy { $0.0 }, "every rank still has the exact sum")
        #expect(outcomes[2].1 == 2 && outcomes[2].2 == 1, "rank 2 dropped 2 stale and 1 misplaced chunk")
        #expect(outcomes[0].1 == 0 && outcomes[1].1 == 0)
    }

    @Test("exact chunks whose frames do not match the planes of their width are dropped and counted")
    func malformedPlanes() throws {
        let size = 3, count = 3000, unit: Float = 0x1p-20   // every sum exact in float and within 5 bytes
        let options = RingOptions(runID: Self.runID, chunkBytes: 4096, timeout: .seconds(5))
        let results = runRanks(size: size, runID: Self.runID, options: options, prepare: { r, transport in
            guard r == 2 else { return }   // rank 1 sends to rank 2: its first chunk, malformed, arrives first
            let plan = RingPlan(count: count, rank: 2, size: size, chunkElements: 1024)
            let first = plan.steps[0]
            let range = first.transfers[0].receive, n = range.count
            let header = RingChunkHeader(phase: .reduceScatter, ringStep: 0, segment: UInt32(first.receiveSegment),
                                         chunkIndex: 0, elementOffset: UInt64(range.lowerBound),
                                         elementCount: UInt64(n), elementBytes: 5)
            // One contiguous frame (not two planes), and two planes split at the wrong byte: both 5n bytes.
            for shape in [[5 * n], [4 * n + 1, n - 1]] {
                let envelope = Envelope(type: .ringChunkHeader, runID: Self.runID, membershipEpoch: 0, step: 1)
                try! transport.send(envelope, body: .ringChunkHeader(header),
                                    payload: shape.map { Frame([UInt8](repeating: 0x4B, count: $0)) },
                                    to: PeerID("ring-2"), timeout: .seconds(1))
            }
        }) { r, ring in
            let input = (0..<count).map { Float(knownInput(rank: r, index: $0)) * unit }
            let accumulator = FixedPointAccumulator(count: count)
            try input.withUnsafeBufferPointer { try accumulator.add($0) }
            var out = [Float](repeating: 0, count: count)
            try out.withUnsafeMutableBufferPointer { try ring.allReduceExact(accumulator, into: $0, step: 1) }
            let exact = out.indices.allSatisfy { out[$0] == Float(knownSum(size: size, index: $0)) * unit }
            return (exact, ring.counters.mismatchedDropped)
        }
        let outcomes = try results.map { try $0.get() }
        #expect(outcomes.allSatisfy { $0.0 }, "every rank still has the exact sum")
        #expect(outcomes[2].1 == 2 && outcomes[0].1 == 0 && outcomes[1].1 == 0, "rank 2 dropped both: \(outcomes)")
    }

    @Test("a silent rank: every other rank throws CollectiveFailed within the deadline, none hangs",
          arguments: [2, 4, 7])
    func silentRank(size: Int) {
        let timeout = Duration.milliseconds(500)
        let options = RingOptions(runID: Self.runID, chunkBytes: 4096, timeout: timeout)
        let silent = size / 2
        let started = ContinuousClock.now
        let results = runRanks(size: size, runID: Self.runID, options: options) { r, ring in
            if r == silent {
                Thread.sleep(forTimeInterval: 2.5)   // alive (transport open) but never takes part
                return Duration.zero
            }
            var values = [Float](repeating: 1, count: 100_000)
            do {
                try values.withUnsafeMutableBufferPointer { try ring.allReduce($0, step: 4) }
            } catch {
                guard let error = error as? CollectiveFailed else { throw error }
                #expect(error.rank == r && error.step == 4 && error.phase != nil)
                #expect(error.reason == .receiveTimeout(waited: timeout)
                        || error.reason == .sendTimeout(waited: timeout))
                return ContinuousClock.now - started
            }
            Issue.record("rank \(r) finished a collective with a silent rank")
            return Duration.zero
        }
        for (r, result) in results.enumerated() where r != silent {
            let elapsed = (try? result.get()) ?? .zero
            #expect(elapsed >= timeout * 0.9 && elapsed < timeout + .milliseconds(1000),
                    "rank \(r) failed after \(elapsed) (deadline \(timeout))")
        }
    }

    @Test("a rank whose transport is gone: its sender fails at once with peerGone, the others by the deadline")
    func goneRank() {
        let size = 4, timeout = Duration.milliseconds(400)
        let options = RingOptions(runID: Self.runID, chunkBytes: 4096, timeout: timeout)
        let started = ContinuousClock.now
        let results = runRanks(size: size, runID: Self.runID, options: options,
                               prepare: { r, transport in if r == 2 { transport.close() } }) { r, ring in
            guard r != 2 else { return (Duration.zero, "gone") }
            var values = [Float](repeating: 1, count: 50_000)
            do {
                try values.withUnsafeMutableBufferPointer { try ring.allReduce($0, step: 1) }
                return (Duration.zero, "finished")
            } catch {
                guard let error = error as? CollectiveFailed else { throw error }
                return (ContinuousClock.now - started, "\(error.reason)")
            }
        }
        let rank1 = try? results[1].get()
        #expect(rank1?.1.hasPrefix("peerGone") == true, "rank 1 sends to the gone rank: \(String(describing: rank1))")
        #expect((rank1?.0 ?? .seconds(9)) < timeout)
        for r in [0, 3] {
            let outcome = try? results[r].get()
            // A neighbour that already failed has dropped its transport, so peerGone is as good as a timeout.
            let reason = outcome?.1 ?? "none"
            #expect((reason.contains("Timeout") || reason.hasPrefix("peerGone"))
                    && (outcome?.0 ?? .seconds(9)) < timeout * 2 + .milliseconds(300),
                    "rank \(r): \(String(describing: outcome))")
        }
    }

    @Test("phase times: every rank's sends, receives and adds or stores are timed in both phases; one rank has none")
    func phaseTimes() {
        let options = RingOptions(runID: Self.runID, chunkBytes: 4096, timeout: .seconds(10))
        for size in [1, 3] {
            let results = runRanks(size: size, runID: Self.runID, options: options) { r, ring in
                var floats = (0..<20_011).map { Float(knownInput(rank: r, index: $0)) }
                try floats.withUnsafeMutableBufferPointer { try ring.allReduce($0, step: 1) }
                let fixed = (0..<20_011).map { Int64(knownInput(rank: r, index: $0)) << 40 }
                try fixed.withUnsafeBufferPointer { f in
                    try floats.withUnsafeMutableBufferPointer { try ring.allReduceExact(f, into: $0, step: 2) } }
                return ring.counters
            }
            for (r, result) in results.enumerated() {
                guard let counters = try? result.get() else {
                    Issue.record("size \(size) rank \(r): \(result)")
                    continue
                }
                for phase in RingPhase.allCases {
                    let t = counters[time: phase]
                    let timed = [t.sending, t.receiving, t.absorbing]
                    if size == 1 {
                        #expect(timed.allSatisfy { $0 == .zero } && t.preparing == .zero, "rank \(r) \(phase): \(t)")
                    } else {
                        #expect(timed.allSatisfy { $0 > .zero }, "size \(size) rank \(r) \(phase): \(t)")
                    }
                }
            }
        }
    }
}
