import Comm
import Foundation
import TensorCore
import Testing
import TestSupport
import Wire

/// Exact mode from one float contribution per rank (`allReduceExact` of floats, in place): the same bits as the
/// accumulator's path, mixed rings, bad inputs, buckets and malformed float chunks. N ranks as N threads.
@Suite("RingAllReduce exact from floats")
struct RingExactFloatsTests {
    static let runID = RunID(high: 0xA11, low: 0xF17)

    /// Rank r's float gradient: realistic values, one sum that needs 6 bytes (0.3 on every rank) and one value
    /// that takes the general conversion and the 8-byte path (3000.25).
    static func input(rank: Int, count: Int) -> [Float] {
        var x = gradientLikeValues(count, tag: 1200 + UInt32(rank), highExponent: -2)
        if count > 777 { x[777] = 0.3 }
        if count > 15_000, rank == 1 { x[15_000] = 3000.25 }
        return x
    }

    /// The exact sum over `size` ranks, reduced in one place by an accumulator.
    static func expected(size: Int, count: Int) throws -> [UInt32] {
        let total = FixedPointAccumulator(count: count)
        for r in 0..<size { try input(rank: r, count: count).withUnsafeBufferPointer { try total.add($0) } }
        var sums = [Float](repeating: 0, count: count)
        try sums.withUnsafeMutableBufferPointer { try total.readFloats(into: $0) }
        return sums.map(\.bitPattern)
    }

    @Test("floats on every rank, or on every other rank beside accumulators, give the accumulator's exact bits",
          arguments: [1, 2, 3, 4, 5, 7, 16])
    func equalsAccumulator(size: Int) throws {
        var cases: [(count: Int, chunkBytes: Int)] = []
        for count in Set([0, 1, max(size - 1, 1), size + 1, 1021]) { cases += [(count, 24), (count, 4096)] }
        cases += [(20_011, 4096), (20_011, 1 << 20)]
        for (count, chunkBytes) in cases {
            let expected = try Self.expected(size: size, count: count)
            let options = RingOptions(runID: Self.runID, chunkBytes: chunkBytes, timeout: .seconds(10))
            let results = runRanks(size: size, runID: Self.runID, options: options) { r, ring in
                var allFloats = Self.input(rank: r, count: count)
                try allFloats.withUnsafeMutableBufferPointer { try ring.allReduceExact($0, step: 1) }
                var mixed = Self.input(rank: r, count: count)
                if r % 2 == 0 {
                    try mixed.withUnsafeMutableBufferPointer { try ring.allReduceExact($0, step: 2) }
                } else {
                    let accumulator = FixedPointAccumulator(count: count)
                    try mixed.withUnsafeBufferPointer { try accumulator.add($0) }
                    try mixed.withUnsafeMutableBufferPointer { try ring.allReduceExact(accumulator, into: $0, step: 2) }
                }
                let clean = ring.counters.staleDropped == 0 && ring.counters.mismatchedDropped == 0
                return (allFloats.map(\.bitPattern), mixed.map(\.bitPattern), clean)
            }
            for (r, result) in results.enumerated() {
                let (allFloats, mixed, clean) = try result.get()
                let label = "size \(size), count \(count), chunk \(chunkBytes), rank \(r)"
                #expect(allFloats == expected, "floats on every rank, \(label)")
                #expect(mixed == expected, "floats and accumulators, \(label)")
                #expect(clean, "no chunk dropped, \(label)")
            }
        }
    }

    /// Chunks of 1 KiB (sums packed into buffers of their own) and of 1 MiB (segments of one chunk: the middle
    /// step's sums written in place).
    @Test("an input out of range on one rank: every rank reports it at that element, the others stay exact",
          arguments: [Float.nan, .infinity, -262_144], [1024, 1 << 20])
    func outOfRange(bad: Float, chunkBytes: Int) {
        let size = 3, count = 5000, unit: Float = 0x1p-20
        let options = RingOptions(runID: Self.runID, chunkBytes: chunkBytes, timeout: .seconds(5))
        let results = runRanks(size: size, runID: Self.runID, options: options) { r, ring in
            var values = (0..<count).map { Float(knownInput(rank: r, index: $0)) * unit }
            if r == 1 { values[4321] = bad }
            do {
                try values.withUnsafeMutableBufferPointer { try ring.allReduceExact($0, step: 1) }
            } catch let error as CollectiveFailed {
                let othersExact = values.indices.allSatisfy {
                    $0 == 4321 ? values[$0].isNaN : values[$0] == Float(knownSum(size: size, index: $0)) * unit
                }
                return othersExact ? error.reason : nil
            }
            return nil
        }
        for (r, result) in results.enumerated() {
            #expect((try? result.get()) == .fixedPointOverflow(.overflow(index: 4321, format: .standard)),
                    "rank \(r), \(bad), chunk \(chunkBytes)")
        }
    }

    @Test("buckets marked ready late, in reverse, from another thread give the one-shot bits", arguments: [2, 3])
    func buckets(size: Int) throws {
        let count = 50_003
        let buckets = [0..<7, 7..<20_000, 20_000..<20_001, 20_001..<50_003]
        let expected = try Self.expected(size: size, count: count)
        let options = RingOptions(runID: Self.runID, chunkBytes: 4096, timeout: .seconds(10))
        let results = runRanks(size: size, runID: Self.runID, options: options) { r, ring in
            var values = Self.input(rank: r, count: count)
            let readiness = BucketReadiness(buckets: buckets.count)
            let producer = Thread {   // "backward" finishes the buckets last to first
                for i in buckets.indices.reversed() { Thread.sleep(forTimeInterval: 0.005); readiness.markReady(i) }
            }
            producer.start()
            try values.withUnsafeMutableBufferPointer {
                try ring.allReduceExact($0, buckets: buckets, readiness: readiness, step: 1) }
            return values.map(\.bitPattern)
        }
        for (r, result) in results.enumerated() {
            #expect(try result.get() == expected, "rank \(r)")
        }
    }

    @Test("float chunks are accepted only at the first reduce-scatter step, as one frame of 4 bytes each")
    func malformedFloatChunks() throws {
        let size = 3, count = 3000, unit: Float = 0x1p-20
        let options = RingOptions(runID: Self.runID, chunkBytes: 4096, timeout: .seconds(5))
        let receiver = Handoff<InProcessTransport?>(nil)
        // Rank 1 sends each chunk of its first two reduce-scatter steps after twins that rank 2 must drop:
        // floats one byte short (the wire layer rejects it: the header fixes the payload size), floats split in
        // two frames, and (second step) floats posing as a partial sum.
        let results = runRanks(size: size, runID: Self.runID, options: options, prepare: { r, transport in
            if r == 2 { receiver.value = transport }
        }, sendVia: { r, transport in
            guard r == 1 else { return transport }
            return TwinSender(transport) { header in
                guard header.phase == .reduceScatter, header.chunkIndex == 0 else { return [] }
                let n = Int(header.elementCount)
                return header.ringStep == 0 ? [[4 * n - 1], [2 * n, 2 * n]] : [[4 * n]]
            }
        }) { r, ring in
            var values = (0..<count).map { Float(knownInput(rank: r, index: $0)) * unit }
            try values.withUnsafeMutableBufferPointer { try ring.allReduceExact($0, step: 1) }
            let exact = values.indices.allSatisfy { values[$0] == Float(knownSum(size: size, index: $0)) * unit }
            return (exact, ring.counters.mismatchedDropped)
        }
        let outcomes = try results.map { try $0.get() }
        #expect(outcomes.allSatisfy { $0.0 }, "every rank still has the exact sum")
        #expect(outcomes[2].1 == 2 && outcomes[0].1 == 0 && outcomes[1].1 == 0,
                "rank 2's ring dropped two: \(outcomes)")
        #expect(receiver.value?.counters.snapshot.rejectedTotal == 1, "rank 2's transport rejected the short one")
    }
}

/// Sends, before each ring chunk, twins of it declared as floats (4 bytes per element) with the payload frame
/// sizes `twins(header)` gives, filled with junk.
private final class TwinSender: Transport {
    let inner: Transport
    let twins: (RingChunkHeader) -> [[Int]]

    init(_ inner: Transport, twins: @escaping (RingChunkHeader) -> [[Int]]) {
        self.inner = inner
        self.twins = twins
    }

    var counters: TransportCounters { inner.counters }

    func send(_ envelope: Envelope, body: Body, payload: [Frame], to peer: PeerID?,
              timeout: Duration) throws(TransportError) {
        if case var .ringChunkHeader(header) = body {
            header.elementBytes = 4
            for frames in twins(header) {
                try inner.send(envelope, body: .ringChunkHeader(header),
                               payload: frames.map { Frame([UInt8](repeating: 0x3C, count: $0)) }, to: peer,
                               timeout: timeout)
            }
        }
        try inner.send(envelope, body: body, payload: payload, to: peer, timeout: timeout)
    }

    func receive(timeout: Duration) throws(TransportError) -> ReceivedMessage? { try inner.receive(timeout: timeout) }

    func close() { inner.close() }
}
