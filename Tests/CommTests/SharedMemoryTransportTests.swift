import Comm
import Foundation
import ShmC
import Testing
import Wire

// MARK: - The shared-memory ring link: real POSIX shared memory, sender and receiver in this process

@Suite("SharedMemoryTransport")
struct SharedMemoryTransportTests {
    let run = RunID(high: 0x5348, low: 0x4d)

    /// A fresh mailbox endpoint name, so parallel and repeated runs never meet.
    static func endpoint() -> String { "shm://nmae-test-" + UUID().uuidString.prefix(12) }

    func pair(slots: Int = 4, payload: Int = 1 << 16) throws -> (SharedMemoryTransport, SharedMemoryTransport) {
        let endpoint = Self.endpoint()
        let receiver = try SharedMemoryTransport(endpoint: endpoint,
                                                 role: .receiver(slots: slots, largestPayload: payload),
                                                 expectedRunID: run)
        let sender = try SharedMemoryTransport(endpoint: endpoint, role: .sender, expectedRunID: run)
        return (receiver, sender)
    }

    /// A ring chunk of `count` elements of `width` bytes (5: two planes, as exact mode sends).
    func chunk(_ index: UInt32, count: Int, width: UInt32 = 4) -> (Envelope, Body) {
        let header = RingChunkHeader(phase: .reduceScatter, ringStep: 0, segment: 0, chunkIndex: index,
                                     elementOffset: UInt64(index) * UInt64(count), elementCount: UInt64(count),
                                     elementBytes: width)
        return (Envelope(type: .ringChunkHeader, runID: run, step: 3), .ringChunkHeader(header))
    }

    @Test("a chunk with two payload frames arrives validated, bytes intact, and the send consumed its frames")
    func roundTrip() throws {
        let (receiver, sender) = try pair()
        let (envelope, body) = chunk(0, count: 3, width: 5)
        let low = Frame(Array(0..<12)), high = Frame(Array(100..<103))
        try sender.send(envelope, body: body, payload: [low, high], to: nil, timeout: .seconds(1))
        #expect(low.count == 0 && high.count == 0, "send consumes its payload frames")
        let received = try #require(try receiver.receive(timeout: .seconds(1)))
        #expect(received.message.body == body)
        #expect(received.message.envelope.step == 3)
        #expect(received.message.payload.map(\.bytes) == [Array(0..<12), Array(100..<103)])
        #expect(sender.counters.snapshot.sent == 1 && receiver.counters.snapshot.received == 1)
        #expect(receiver.counters.snapshot.rejectedTotal == 0)
    }

    @Test("large frames arrive intact through plain and streaming copies alike (the policy probes both)")
    func largeFramesBothCopies() throws {
        let count = 70_001   // 280 KiB low plane, 70 KiB high plane: both large, neither a multiple of 64
        let (receiver, sender) = try pair(slots: 2, payload: 5 * count)
        for index in 0..<(3 * SlotCopyPolicy.firstProbeInterval) {
            let low = (0..<(4 * count)).map { UInt8(truncatingIfNeeded: $0 &+ index) }
            let high = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 3 &+ index) }
            let (envelope, body) = chunk(UInt32(index), count: count, width: 5)
            try sender.send(envelope, body: body, payload: [Frame(low), Frame(high)], to: nil, timeout: .seconds(2))
            let received = try #require(try receiver.receive(timeout: .seconds(2)), "chunk \(index)")
            #expect(received.message.payload.map(\.bytes) == [low, high], "chunk \(index)")
        }
        #expect(receiver.counters.snapshot.rejectedTotal == 0, "every CRC matched")
    }

    @Test("a receiver on another thread takes 200 chunks in order through 3 slots; a held chunk keeps its slot")
    func flowControl() throws {
        let (receiver, sender) = try pair(slots: 3)
        let count = 1000
        let handoff = Handoff(receiver)
        let inOrder = EventCounter()
        let consumer = Thread {
            for index in 0..<200 {
                guard let message = try? handoff.value.receive(timeout: .seconds(5)),
                      case let .ringChunkHeader(header) = message.message.body else { return }
                let bytes = message.message.payload[0].bytes
                if header.chunkIndex == UInt32(index), bytes.count == 4 * count, bytes[0] == UInt8(index % 251) {
                    inOrder.record()
                }
            }
        }
        consumer.start()
        for index in 0..<200 {
            let (envelope, body) = chunk(UInt32(index), count: count)
            let values = Frame([UInt8](repeating: UInt8(index % 251), count: 4 * count))
            try sender.send(envelope, body: body, payload: [values], to: nil, timeout: .seconds(5))
        }
        #expect(inOrder.wait(for: 200))
        // Hold three received chunks: every slot is taken, so the next send waits and times out.
        var held: [ReceivedMessage] = []
        for index in 0..<3 {
            let (envelope, body) = chunk(UInt32(index), count: 1)
            try sender.send(envelope, body: body, payload: [Frame([1, 2, 3, 4])], to: nil, timeout: .seconds(1))
            held.append(try #require(try receiver.receive(timeout: .seconds(1))))
        }
        let (envelope, body) = chunk(9, count: 1)
        #expect(throws: TransportError.self) {
            try sender.send(envelope, body: body, payload: [Frame([1, 2, 3, 4])], to: nil, timeout: .milliseconds(50))
        }
        held.removeFirst()   // its frames are gone: its slot is free again
        try sender.send(envelope, body: body, payload: [Frame([1, 2, 3, 4])], to: nil, timeout: .seconds(1))
        #expect(held.count == 2)
    }

    @Test("garbage, a wrong run id, a payload that fails its CRC and an invalid frame table are dropped and counted")
    func rejection() throws {
        let endpoint = Self.endpoint()
        let receiver = try SharedMemoryTransport(endpoint: endpoint, role: .receiver(slots: 8, largestPayload: 64),
                                                 expectedRunID: run)
        let sender = try SharedMemoryTransport(endpoint: endpoint, role: .sender, expectedRunID: run)
        try sender.sendRaw([Frame([0xFF, 0xFF, 0xFF])], timeout: .seconds(1))
        let stranger = RunID(high: 1, low: 1)
        let (envelope, body) = chunk(0, count: 1)
        var foreign = envelope
        foreign.runID = stranger
        try sender.send(foreign, body: body, payload: [Frame([1, 2, 3, 4])], to: nil, timeout: .seconds(1))
        let header = WireCodec.encode(envelope, body: body, payload: [Frame([1, 2, 3, 4])])
        try sender.sendRaw([Frame(header), Frame([1, 2, 3, 5])], timeout: .seconds(1))
        sender.close()
        // A faulty writer: a frame that reaches past the slot, and a frame count of zero.
        var handle: OpaquePointer?
        #expect(nm_shm_attach(String(endpoint.dropFirst("shm://".count)), &handle) == 0)
        for (offsets, sizes) in [([UInt64(0)], [UInt64(1 << 20)]), ([], [])] {
            var slot: UnsafeMutablePointer<UInt8>?
            #expect(nm_shm_reserve(handle, nm_shm_now_ns() + 1_000_000_000, &slot) == 0)
            nm_shm_publish_unchecked(handle, UInt32(sizes.count), offsets, sizes)
        }
        nm_shm_close(handle)
        let good = try SharedMemoryTransport(endpoint: endpoint, role: .sender, expectedRunID: run)
        try good.send(envelope, body: body, payload: [Frame([9, 9, 9, 9])], to: nil, timeout: .seconds(1))
        let received = try #require(try receiver.receive(timeout: .seconds(1)))
        #expect(received.message.payload.map(\.bytes) == [[9, 9, 9, 9]], "the next valid message still arrives")
        let counts = receiver.counters.snapshot
        #expect(counts.rejectedTotal == 5, "\(counts)")
        #expect(counts.rejected(.wire(.wrongRunID(expected: run, got: stranger))) == 1)
        #expect(counts.rejected(.wire(.crcMismatch(declared: 0, actual: 0))) == 1)
        #expect(counts.rejected(.wire(.malformed(.header, ""))) == 2, "the two bad tables: \(counts)")
    }

    @Test("deadlines: an empty receive, a send with no receiver, a second sender; too large; a closed receiver")
    func deadlines() throws {
        let (receiver, sender) = try pair(payload: 1 << 12)
        let started = ContinuousClock.now
        #expect(try receiver.receive(timeout: .milliseconds(30)) == nil)
        #expect(ContinuousClock.now - started >= .milliseconds(30))
        let (envelope, body) = chunk(0, count: 1)
        let nobody = try SharedMemoryTransport(endpoint: Self.endpoint(), role: .sender, expectedRunID: run)
        #expect(throws: TransportError.self) {
            try nobody.send(envelope, body: body, payload: [], to: nil, timeout: .milliseconds(30))
        }
        try sender.send(envelope, body: body, payload: [Frame([1, 2, 3, 4])], to: nil, timeout: .seconds(1))
        let second = try SharedMemoryTransport(endpoint: receiver.endpoint, role: .sender, expectedRunID: run)
        #expect(throws: TransportError.self, "one sender per process and mailbox") {
            try second.send(envelope, body: body, payload: [], to: nil, timeout: .milliseconds(30))
        }
        #expect(throws: TransportError.self, "a payload over the slot's size") {
            try sender.send(envelope, body: body, payload: [Frame([UInt8](repeating: 0, count: 8192))], to: nil,
                            timeout: .seconds(1))
        }
        #expect(try receiver.receive(timeout: .seconds(1)) != nil, "the message before it still arrives")
        receiver.close()
        #expect(throws: TransportError.peerUnreachable(PeerID(receiver.endpoint))) {
            try sender.send(envelope, body: body, payload: [], to: nil, timeout: .seconds(1))
        }
        #expect(throws: TransportError.closed) { try receiver.receive(timeout: .zero) }
    }

    @Test("a sender that left is replaced by a new one, which continues where it stopped")
    func replacedSender() throws {
        let (receiver, first) = try pair(slots: 2)
        let (envelope, body) = chunk(0, count: 1)
        for _ in 0..<3 {
            try first.send(envelope, body: body, payload: [Frame([1, 1, 1, 1])], to: nil, timeout: .seconds(1))
            #expect(try receiver.receive(timeout: .seconds(1)) != nil)
        }
        first.close()
        let next = try SharedMemoryTransport(endpoint: receiver.endpoint, role: .sender, expectedRunID: run)
        for value in UInt8(2)...UInt8(6) {
            try next.send(envelope, body: body, payload: [Frame([value, 0, 0, 0])], to: nil, timeout: .seconds(1))
            let message = try #require(try receiver.receive(timeout: .seconds(1)))
            #expect(message.message.payload[0].bytes == [value, 0, 0, 0])
        }
    }

    @Test("a sender that detaches while the receiver waits is not a failure: its successor's message arrives")
    func senderLeftDuringWait() throws {
        let (receiver, sender) = try pair()
        let (envelope, body) = chunk(0, count: 1)
        try sender.send(envelope, body: body, payload: [Frame([1, 2, 3, 4])], to: nil, timeout: .seconds(1))
        #expect(try receiver.receive(timeout: .seconds(1)) != nil)
        let handoff = Handoff(sender)
        let endpoint = receiver.endpoint, run = run
        Thread {
            Thread.sleep(forTimeInterval: 0.05)
            handoff.value.close()
            Thread.sleep(forTimeInterval: 0.05)
            let successor = try? SharedMemoryTransport(endpoint: endpoint, role: .sender, expectedRunID: run)
            try? successor?.send(envelope, body: body, payload: [Frame([5, 6, 7, 8])], to: nil, timeout: .seconds(1))
        }.start()
        let message = try #require(try receiver.receive(timeout: .seconds(5)))
        #expect(message.message.payload[0].bytes == [5, 6, 7, 8])
    }

    @Test("a stale mailbox of the same name is replaced, and closing the old one leaves the new one's name")
    func staleName() throws {
        let endpoint = Self.endpoint()
        let old = try SharedMemoryTransport(endpoint: endpoint, role: .receiver(slots: 2, largestPayload: 64),
                                            expectedRunID: run)
        let new = try SharedMemoryTransport(endpoint: endpoint, role: .receiver(slots: 2, largestPayload: 64),
                                            expectedRunID: run)
        old.close()
        let sender = try SharedMemoryTransport(endpoint: endpoint, role: .sender, expectedRunID: run)
        let (envelope, body) = chunk(0, count: 1)
        try sender.send(envelope, body: body, payload: [Frame([7, 7, 7, 7])], to: nil, timeout: .seconds(1))
        #expect(try new.receive(timeout: .seconds(1))?.message.payload[0].bytes == [7, 7, 7, 7])
        new.close()
        let path = "/dev/shm/" + String(endpoint.dropFirst("shm://".count))
        #expect(!FileManager.default.fileExists(atPath: path), "the receiver removes its name when it closes")
    }

    @Test("endpoints other than shm://NAME are refused with a hint", arguments: ["shm://", "shm://a/b", "ipc://x",
                                                                               "shm://..", "shm://a b"])
    func badEndpoint(_ endpoint: String) {
        #expect(throws: TransportError.self) {
            _ = try SharedMemoryTransport(endpoint: endpoint, role: .receiver(slots: 2, largestPayload: 64),
                                          expectedRunID: nil)
        }
    }
}
