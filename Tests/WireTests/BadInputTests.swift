import Testing
import Wire

/// Each bad input of issue 5 gives its own typed error, at the codec level.
@Suite("Wire bad input")
struct BadInputTests {
    let plan = sampleBodies[6]
    let chunk = sampleBodies[15]

    @Test("no frames, or more frames than the limit")
    func wrongFrameCount() {
        #expect(rejection([]) == .wrongFrameCount(0, max: 64))
        let frames = sampleFrames(.commit(Commit(step: 0))) + [[UInt8]](repeating: [1], count: 64)
        #expect(rejection(frames) == .wrongFrameCount(65, max: 64))
    }

    @Test("truncated header frame: every cut inside the body field, and the empty frame")
    func truncatedHeader() {
        let header = sampleFrames(plan)[0]
        let bodyStart = header.count - 40  // well inside the body field (the last field)
        for cut in bodyStart..<header.count {
            #expect(rejection([Array(header[..<cut])]) == .truncated(.envelope))
        }
        #expect(rejection([[]]) == .truncated(.header))
    }

    @Test("truncated body inside a well-formed envelope")
    func truncatedBody() {
        var body = ProtoWriter()
        body.field(2, bytes: Array("worker 2 timed out".utf8))  // Abort.reason
        let cut = Array(body.bytes.dropLast(4))
        #expect(rejection([rawEnvelope(type: 7, body: cut)]) == .truncated(.body))
    }

    @Test("wrong protocol version")
    func wrongVersion() {
        let envelope = Envelope(type: .commit, runID: sampleRun, protocolVersion: 2)
        #expect(rejection([WireCodec.encodeHeader(envelope, body: .commit(Commit(step: 0)))]) == .unsupportedVersion(2))
        #expect(rejection([rawEnvelope(type: 6, version: 0, body: [])]) == .unsupportedVersion(0))
    }

    @Test("wrong run id, and a run id of the wrong size")
    func wrongRunID() {
        let other = RunID(high: 9, low: 9)
        #expect(rejection(sampleFrames(plan, run: other)) == .wrongRunID(expected: sampleRun, got: other))
        #expect(rejection(sampleFrames(plan, run: .zero)) == .wrongRunID(expected: sampleRun, got: .zero))
        let short = rawEnvelope(type: 6, run: [1, 2, 3], body: [])
        #expect(rejection([short]) == .malformed(.envelope, "run_id has 3 bytes, expected 16"))
    }

    @Test("CRC mismatch: one flipped payload bit")
    func crcMismatch() {
        var frames = sampleFrames(chunk)
        let declared = crc32c(frames[1])
        frames[1][5] ^= 0x10
        #expect(rejection(frames) == .crcMismatch(declared: declared, actual: crc32c(frames[1])))
    }

    @Test("payload length mismatch: missing frame, extra bytes, payload on a control message, ring chunk size")
    func payloadLengthMismatch() {
        let frames = sampleFrames(chunk)
        #expect(rejection([frames[0]]) == .payloadLengthMismatch(declared: 68, actual: 0))
        #expect(rejection(frames + [[0, 0]]) == .payloadLengthMismatch(declared: 68, actual: 70))
        let extra: [UInt8] = [1, 2, 3]
        let commit = Envelope(type: .commit, runID: sampleRun)
        let withPayload = [WireCodec.encode(commit, body: .commit(Commit(step: 0)), payload: [extra]), extra]
        #expect(rejection(withPayload) == .payloadLengthMismatch(declared: 0, actual: 3))
        let ring = RingChunkHeader(phase: .reduceScatter, ringStep: 0, segment: 0, chunkIndex: 0, elementOffset: 0,
                                   elementCount: 2, elementBytes: 8)
        let ringEnvelope = Envelope(type: .ringChunkHeader, runID: sampleRun)
        let ringFrames = [WireCodec.encode(ringEnvelope, body: .ringChunkHeader(ring), payload: [extra]), extra]
        #expect(rejection(ringFrames) == .payloadLengthMismatch(declared: 16, actual: 3))
    }

    @Test("oversized header, payload, and declared payload length")
    func oversized() {
        let small = WireLimits(maxHeaderBytes: 64, maxPayloadBytes: 50, maxFrames: 8)
        let header = sampleFrames(plan)[0]
        #expect(rejection([header], limits: small) == .oversized(.header, size: UInt64(header.count), limit: 64))
        #expect(rejection(sampleFrames(chunk), limits: small) == .oversized(.payload, size: 68, limit: 50))
        let huge = rawEnvelope(type: 9, payloadLength: 1 << 40, body: [])
        #expect(rejection([huge]) == .oversized(.payload, size: 1 << 40, limit: 256 << 20))
    }

    @Test("garbage bytes")
    func garbage() {
        let longVarint = [UInt8](repeating: 0xFF, count: 12)
        #expect(rejection([longVarint]) == .malformed(.envelope, "varint longer than 10 bytes"))
        #expect(rejection([[0x00, 0x01]]) == .malformed(.envelope, "field number 0 or too large"))
        #expect(rejection([[0x0B, 0x01]]) == .malformed(.envelope, "wire type 3 is not used by this protocol"))
        #expect(rejection([Array("GET / HTTP/1.1\r\n".utf8)]) != nil)
    }

    @Test("unknown message type", arguments: [UInt64(0), 17, 99, UInt64(UInt32.max)])
    func unknownType(raw: UInt64) {
        #expect(rejection([rawEnvelope(type: raw, body: [])]) == .unknownType(UInt32(raw)))
    }

    @Test("body does not match the type: foreign fields, wrong wire types")
    func bodyMismatch() {
        var planBody = ProtoWriter()
        planBody.field(1, varint: 0)
        planBody.field(4, varint: 16)
        #expect(rejection([rawEnvelope(type: 6, body: planBody.bytes)]) == .bodyMismatch(.commit))
        var commitBody = ProtoWriter()
        commitBody.field(1, varint: 12)  // Join field 1 is a string
        #expect(rejection([rawEnvelope(type: 1, body: commitBody.bytes)]) == .bodyMismatch(.join))
    }

    @Test("unknown envelope field")
    func unknownEnvelopeField() {
        #expect(rejection([rawEnvelope(type: 6, body: [], extraField: 40)]) == .malformed(.envelope, "unknown fields"))
    }

    @Test("invalid field values are malformed bodies")
    func invalidFields() {
        let bad: [Body] = [
            .stepPlan(StepPlan(step: 0, epoch: 0, learningRate: .nan, virtualShardCount: 4, virtualShards: [1],
                               ringOrder: [1], ringEndpoints: ["a"], chunkBytes: 1, exact: true, samplesConsumed: 0)),
            .stepPlan(StepPlan(step: 0, epoch: 0, learningRate: 1, virtualShardCount: 4, virtualShards: [4],
                               ringOrder: [1], ringEndpoints: ["a"], chunkBytes: 1, exact: true, samplesConsumed: 0)),
            .stepPlan(StepPlan(step: 0, epoch: 0, learningRate: 1, virtualShardCount: 4, virtualShards: [],
                               ringOrder: [1, 2], ringEndpoints: ["a"], chunkBytes: 1, exact: true,
                               samplesConsumed: 0)),
            .checkpointDone(CheckpointDone(step: 0, fileName: "../../etc/passwd", totalBytes: 1, sha256: digest)),
            .stateDone(StateDone(step: 0, totalBytes: 1, sha256: [1, 2])),
            .ringChunkHeader(RingChunkHeader(phase: .reduceScatter, ringStep: 0, segment: 0, chunkIndex: 0,
                                             elementOffset: 0, elementCount: 0, elementBytes: 3)),
            .ringChunkHeader(RingChunkHeader(phase: .allGather, ringStep: 0, segment: 0, chunkIndex: 0,
                                             elementOffset: 0, elementCount: 0, elementBytes: 9)),
            .join(Join(workerName: "w", buildFingerprint: "b", datasetFingerprint: digest, threads: 0,
                       samplesPerSecond: 1, dataEndpoint: "ipc://ring")),
            .join(Join(workerName: "w", buildFingerprint: "b", datasetFingerprint: digest, threads: 1,
                       samplesPerSecond: 1, dataEndpoint: "")),
            .join(Join(workerName: "w", buildFingerprint: "b", datasetFingerprint: digest, threads: 1,
                       samplesPerSecond: 1, dataEndpoint: "ipc://ring", committedStep: 3, stateSHA256: [1, 2, 3])),
            .stepPlan(StepPlan(step: 0, epoch: 0, learningRate: 1, virtualShardCount: 4, virtualShards: [],
                               ringOrder: [1, 2], ringEndpoints: ["a", "b"], chunkBytes: 1, exact: true,
                               samplesConsumed: 0, ringPublicKeys: [digest])),
            .stepPlan(StepPlan(step: 0, epoch: 0, learningRate: 1, virtualShardCount: 4, virtualShards: [],
                               ringOrder: [1], ringEndpoints: ["a"], chunkBytes: 1, exact: true,
                               samplesConsumed: 0, ringPublicKeys: [[7]])),
            .stateChunk(StateChunk(step: 0, totalBytes: 10, chunkIndex: 2, chunkCount: 2, offset: 0)),
        ]
        for body in bad {
            let frames = [WireCodec.encodeHeader(Envelope(type: body.type, runID: sampleRun), body: body)]
            guard case .malformed(.body, _)? = rejection(frames) else {
                Issue.record("\(body.type) with an invalid field was not rejected as a malformed body")
                continue
            }
        }
    }

    @Test("envelope step must equal a step-transaction body's step")
    func stepMismatch() {
        let envelope = Envelope(type: .commit, runID: sampleRun, step: 4)
        let frames = [WireCodec.encodeHeader(envelope, body: .commit(Commit(step: 5)))]
        #expect(rejection(frames) == .malformed(.envelope, "step 4 differs from the Commit step 5"))
    }

    @Test("every error has a readable description")
    func descriptions() {
        let errors: [WireError] = [
            .wrongFrameCount(0, max: 64), .oversized(.payload, size: 2, limit: 1), .truncated(.body),
            .malformed(.envelope, "x"), .unsupportedVersion(2), .wrongRunID(expected: sampleRun, got: .zero),
            .unknownType(99), .bodyMismatch(.join), .payloadLengthMismatch(declared: 1, actual: 2),
            .crcMismatch(declared: 1, actual: 0xE306_9283),
        ]
        for error in errors { #expect(error.description.hasPrefix("wire: ")) }
        #expect(WireError.crcMismatch(declared: 1, actual: 0xE306_9283).description.contains("0xe3069283"))
    }
}
