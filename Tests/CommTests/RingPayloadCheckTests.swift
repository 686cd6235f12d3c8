import Comm
import Foundation
import TensorCore
import Testing
import TestSupport
import Wire

/// The ring's own payload checks: a transport that leaves the CRC32C to the consumer (`PayloadCheckDeferring`,
/// as the in-process double and the shared-memory link do) gets it checked while chunks are added or stored.
/// N ranks as N threads.
@Suite("RingAllReduce payload checks")
struct RingPayloadCheckTests {
    static let runID = RunID(high: 0xC4C, low: 0x32C)

    /// Where a corrupted chunk goes: phase and ring step, and the mode that receives it there.
    enum Corruption: String, CaseIterable, CustomStringConvertible {
        case floatReduceScatter, floatAllGather, exactFloatsStep, exactPlanesStep, exactAllGather
        var description: String { rawValue }
        var exact: Bool { self != .floatReduceScatter && self != .floatAllGather }
        var phase: RingPhase { self == .floatAllGather || self == .exactAllGather ? .allGather : .reduceScatter }
        /// Exact mode's first step carries floats, later ones fixed-point planes (size 4: steps 0, 1, 2).
        var ringStep: UInt32 { self == .exactPlanesStep ? 1 : 0 }
    }

    /// One payload byte of one chunk flipped after its CRC was computed: the rank that receives it fails at
    /// once with `corruptPayload`, well within the deadline, instead of using the chunk or waiting for
    /// another. Chunks of 5000 elements, so the check spans several blocks and the flip sits in a late one.
    @Test("a chunk whose payload fails its CRC fails the receiving rank at once with corruptPayload",
          arguments: Corruption.allCases)
    func corruptChunk(corruption: Corruption) {
        let size = 4, count = 4 * 5000, sender = 1
        let timeout = Duration.seconds(3)
        let options = RingOptions(runID: Self.runID, chunkBytes: 5000 * 4, timeout: timeout)
        let started = ContinuousClock.now
        let results = runRanks(size: size, runID: Self.runID, options: options, sendVia: { r, transport in
            guard r == sender else { return transport }
            return PayloadCorrupter(transport as! InProcessTransport) { header in
                header.phase == corruption.phase && header.ringStep == corruption.ringStep
            }
        }) { r, ring in
            var values = (0..<count).map { Float(knownInput(rank: r, index: $0)) / 64 }
            do {
                try values.withUnsafeMutableBufferPointer { buffer in
                    if corruption.exact {
                        try ring.allReduceExact(buffer, step: 3)
                    } else {
                        try ring.allReduce(buffer, step: 3)
                    }
                }
            } catch {
                return (error as? CollectiveFailed, ContinuousClock.now - started, ring.counters.corruptPayloads)
            }
            return (nil, ContinuousClock.now - started, ring.counters.corruptPayloads)
        }
        guard case let .success((failure, elapsed, corrupt)) = results[sender + 1] else {
            Issue.record("rank \(sender + 1) did not return: \(results[sender + 1])")
            return
        }
        guard case let .corruptPayload(declared, actual)? = failure?.reason else {
            Issue.record("rank \(sender + 1) should fail with corruptPayload, got \(String(describing: failure))")
            return
        }
        #expect(declared != actual)
        #expect(failure?.phase == corruption.phase && failure?.ringStep == Int(corruption.ringStep))
        #expect(corrupt == 1)
        #expect(elapsed < timeout / 2, "failed after \(elapsed), not at once")
    }

    /// The same collectives with the CRC checked by the transport (a receiver that does not defer) or by the
    /// ring, and with exact mode's partial sums written in place or sent from buffers of their own (a sender
    /// that does not take them in place): identical bits, in float and exact mode, over chunk sizes under
    /// and over a check block. Segments of one or two chunks write every middle step's sums in place.
    @Test("payloads checked by the transport or by the ring, sums written in place or not: identical sums",
          arguments: [2, 3, 5])
    func checkedEitherWay(size: Int) throws {
        for chunkBytes in [24, 4096, 24_000, 100_000] {
            let count = 30_011
            let chunksPerSegment = ((count + size - 1) / size + chunkBytes / 4 - 1) / (chunkBytes / 4)
            let options = RingOptions(runID: Self.runID, chunkBytes: chunkBytes, timeout: .seconds(10))
            var outcomes: [[[UInt32]]] = []
            for ringDoesIt in [true, false] {
                let results = runRanks(size: size, runID: Self.runID, options: options, sendVia: { _, transport in
                    ringDoesIt ? transport : PlainTransport(transport)
                }, receiveVia: { _, transport in
                    ringDoesIt ? transport : PlainTransport(transport)
                }) { r, ring in
                    var float = gradientLikeValues(count, tag: 900 + UInt32(r), highExponent: -3)
                    var exact = float
                    try float.withUnsafeMutableBufferPointer { try ring.allReduce($0, step: 1) }
                    try exact.withUnsafeMutableBufferPointer { try ring.allReduceExact($0, step: 2) }
                    let inPlace = ring.counters.chunksWrittenInPlace
                    let expected = ringDoesIt && chunksPerSegment <= 2 ? max(size - 2, 0) * chunksPerSegment : 0
                    #expect(inPlace == expected, "rank \(r), size \(size), chunk \(chunkBytes): \(inPlace) in place")
                    return float.map(\.bitPattern) + exact.map(\.bitPattern)
                }
                outcomes.append(try results.map { try $0.get() })
            }
            #expect(outcomes[0] == outcomes[1], "size \(size), chunk \(chunkBytes)")
            #expect(outcomes[0].allSatisfy { $0 == outcomes[0][0] }, "every rank the same, size \(size)")
        }
    }
}

/// Passes sends and receives through a transport that could defer payload checks and take payloads in place,
/// without offering either.
private final class PlainTransport: Transport {
    let inner: Transport
    init(_ inner: Transport) { self.inner = inner }
    var counters: TransportCounters { inner.counters }
    func send(_ envelope: Envelope, body: Body, payload: [Frame], to peer: PeerID?,
              timeout: Duration) throws(TransportError) {
        try inner.send(envelope, body: body, payload: payload, to: peer, timeout: timeout)
    }
    func receive(timeout: Duration) throws(TransportError) -> ReceivedMessage? { try inner.receive(timeout: timeout) }
    func close() { inner.close() }
}

/// Sends the first ring chunk that `matches` with the CRC of its true payload but one byte of its last payload
/// frame flipped near the end; every other message as it is.
private final class PayloadCorrupter: Transport {
    let inner: InProcessTransport
    let matches: (RingChunkHeader) -> Bool
    private var done = false

    init(_ inner: InProcessTransport, matches: @escaping (RingChunkHeader) -> Bool) {
        self.inner = inner
        self.matches = matches
    }

    var counters: TransportCounters { inner.counters }

    func send(_ envelope: Envelope, body: Body, payload: [Frame], to peer: PeerID?,
              timeout: Duration) throws(TransportError) {
        guard !done, case let .ringChunkHeader(header) = body, matches(header) else {
            try inner.send(envelope, body: body, payload: payload, to: peer, timeout: timeout)
            return
        }
        done = true
        var bytes = payload.map { frame in frame.withUnsafeBytes { Array($0) } }
        let encoded = WireCodec.encode(envelope, body: body, payload: bytes.map { Frame($0) })
        bytes[bytes.count - 1][bytes[bytes.count - 1].count - 3] ^= 0x10
        payload.forEach { _ = $0.take() }   // consumed, as a send does
        try inner.sendRaw([Frame(encoded)] + bytes.map { Frame($0) }, to: peer, timeout: timeout)
    }

    func receive(timeout: Duration) throws(TransportError) -> ReceivedMessage? { try inner.receive(timeout: timeout) }
    func close() { inner.close() }
}
