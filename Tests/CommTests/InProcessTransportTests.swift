import Comm
import Testing
import Wire

@Suite("InProcessTransport")
struct InProcessTransportTests {
    let run = RunID(high: 0x1234, low: 0x5678)

    @Test("a message with payload arrives validated, with its sender and bytes")
    func roundTrip() throws {
        let network = InProcessNetwork()
        let a = InProcessTransport(name: "a", network: network, defaultPeer: "b", expectedRunID: run)
        let b = InProcessTransport(name: "b", network: network, expectedRunID: run)
        let header = RingChunkHeader(phase: .reduceScatter, ringStep: 0, segment: 1, chunkIndex: 0,
                                     elementOffset: 8, elementCount: 3, elementBytes: 4)
        let payload = Frame([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        try a.send(Envelope(type: .ringChunkHeader, runID: run, step: 7), body: .ringChunkHeader(header),
                   payload: [payload], to: nil, timeout: .seconds(1))
        #expect(payload.count == 0, "send consumes its payload frames")
        let received = try #require(try b.receive(timeout: .seconds(1)))
        #expect(received.peer == PeerID("a"))
        #expect(received.message.body == .ringChunkHeader(header))
        #expect(received.message.envelope.step == 7)
        #expect(received.message.payload.map(\.bytes) == [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]])
        #expect(a.counters.snapshot.sent == 1 && b.counters.snapshot.received == 1)
    }

    @Test("garbage and a wrong run id are counted and dropped; the next valid message still arrives")
    func rejection() throws {
        let network = InProcessNetwork()
        let a = InProcessTransport(name: "a", network: network, defaultPeer: "b", expectedRunID: run)
        let b = InProcessTransport(name: "b", network: network, expectedRunID: run)
        try a.sendRaw([Frame([0xFF, 0xFF, 0xFF])], to: nil, timeout: .seconds(1))
        let stranger = RunID(high: 1, low: 1)
        let beat = Body.heartbeat(Heartbeat(workerID: 1, committedStep: 0, unixMs: 0))
        try a.send(Envelope(type: .heartbeat, runID: stranger), body: beat, payload: [], to: nil, timeout: .seconds(1))
        try a.send(Envelope(type: .leave, runID: run), body: .leave(Leave(workerID: 3, reason: "done")),
                   payload: [], to: nil, timeout: .seconds(1))
        let received = try #require(try b.receive(timeout: .seconds(1)))
        #expect(received.message.body == .leave(Leave(workerID: 3, reason: "done")))
        let counts = b.counters.snapshot
        #expect(counts.rejectedTotal == 2)
        #expect(counts.rejected(.wire(.wrongRunID(expected: run, got: stranger))) == 1)
    }

    @Test("receive times out with nil; a send to an unknown peer throws; a full queue times out")
    func deadlines() throws {
        let network = InProcessNetwork()
        let a = InProcessTransport(name: "a", network: network, defaultPeer: "b", expectedRunID: run, capacity: 1)
        let b = InProcessTransport(name: "b", network: network, expectedRunID: run, capacity: 1)
        #expect(try b.receive(timeout: .milliseconds(20)) == nil)
        let leave = Body.leave(Leave(workerID: 1, reason: ""))
        #expect(throws: TransportError.peerUnreachable(PeerID("nobody"))) {
            try a.send(Envelope(type: .leave, runID: run), body: leave, payload: [], to: PeerID("nobody"),
                       timeout: .seconds(1))
        }
        try a.send(Envelope(type: .leave, runID: run), body: leave, payload: [], to: nil, timeout: .seconds(1))
        #expect(throws: TransportError.self) {
            try a.send(Envelope(type: .leave, runID: run), body: leave, payload: [], to: nil,
                       timeout: .milliseconds(20))
        }
        b.close()
        #expect(throws: TransportError.closed) { try b.receive(timeout: .seconds(1)) }
    }
}
