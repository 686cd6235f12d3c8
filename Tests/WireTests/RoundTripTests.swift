import TestSupport
import Testing
import Wire

@Suite("Wire round trips")
struct RoundTripTests {
    @Test("every body type encodes and decodes to the same value", arguments: sampleBodies.indices)
    func roundTrip(index: Int) throws {
        let body = sampleBodies[index]
        let frames = sampleFrames(body, sequence: UInt64(index))
        let message = try WireCodec.decode(frames: frames, expectedRunID: sampleRun, limits: .standard)
        #expect(message.body == body)
        #expect(message.envelope.type == body.type)
        #expect(message.envelope.sequence == UInt64(index))
        #expect(message.envelope.membershipEpoch == 3)
        #expect(message.envelope.runID == sampleRun)
        #expect(message.payload == Array(frames.dropFirst()))
    }

    @Test("every message type has a sample")
    func everyTypeCovered() {
        #expect(Set(sampleBodies.map(\.type)) == Set(MessageType.allCases))
    }

    @Test("float32 ring chunk: payload frames come back untouched and the CRC covers them")
    func floatPayload() throws {
        let values = randomValues(1000, tag: 7)
        let bytes = values.withUnsafeBytes { Array($0) }
        let header = RingChunkHeader(phase: .allGather, ringStep: 2, segment: 1, chunkIndex: 0, elementOffset: 0,
                                     elementCount: 1000, elementBytes: 4)
        let envelope = Envelope(type: .ringChunkHeader, runID: sampleRun, step: 5)
        let frames = [WireCodec.encode(envelope, body: .ringChunkHeader(header), payload: [bytes]), bytes]
        let message = try WireCodec.decode(frames: frames, expectedRunID: sampleRun, limits: .standard)
        #expect(message.envelope.payloadLength == 4000)
        #expect(message.envelope.payloadCRC32C == crc32c(bytes))
        let decoded = message.payload[0].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        #expect(decoded == values)
    }

    @Test("a Join may carry the zero run id before the worker knows the run")
    func joinWithZeroRun() throws {
        let frames = sampleFrames(sampleBodies[0], run: .zero)
        let message = try WireCodec.decode(frames: frames, expectedRunID: sampleRun, limits: .standard)
        #expect(message.envelope.runID == .zero)
    }

    @Test("decode without an expected run id accepts any run")
    func anyRun() throws {
        let other = RunID(high: 1, low: 2)
        let message = try WireCodec.decode(frames: sampleFrames(.commit(Commit(step: 0)), run: other),
                                           expectedRunID: nil, limits: .standard)
        #expect(message.envelope.runID == other)
    }

    @Test("RunID bytes round trip and render as hex")
    func runIDBytes() {
        #expect(RunID(bytes: sampleRun.bytes) == sampleRun)
        #expect(sampleRun.description == "0123456789abcdeffedcba9876543210")
        #expect(RunID(bytes: [UInt8](repeating: 0, count: 15)) == nil)
    }

    @Test("encoding is deterministic (same value, same bytes)")
    func deterministic() {
        for body in sampleBodies {
            #expect(sampleFrames(body) == sampleFrames(body))
        }
    }
}
