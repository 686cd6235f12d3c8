import Wire

// MARK: - Sample messages and deterministic random bytes shared by the Wire tests

let sampleRun = RunID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)
let digest = [UInt8](0..<32)
let key = [UInt8](repeating: 0xA5, count: 32)

/// One typical value of every body, plus edge values (empty strings and arrays, extremes).
let sampleBodies: [Body] = [
    .join(Join(workerName: "node-3:4242", buildFingerprint: "0.1.0 68b0721 skylake-avx512",
               datasetFingerprint: digest, publicKey: key, threads: 2, samplesPerSecond: 31.5,
               dataEndpoint: "tcp://10.0.0.3:6001", committedStep: 812, stateSHA256: digest)),
    .join(Join(workerName: "", buildFingerprint: "", datasetFingerprint: digest, threads: .max,
               samplesPerSecond: 0, dataEndpoint: "x")),
    .welcome(Welcome(workerID: 7, runID: sampleRun, membershipEpoch: 3, configJSON: "{\"model\":\"vit-tiny\"}",
                     nextStep: 120, donorWorkerID: 2, heartbeatIntervalMs: 500, heartbeatTimeoutMs: 3000)),
    .welcome(Welcome(workerID: .max, runID: .zero, membershipEpoch: .max, configJSON: "", nextStep: 0,
                     donorWorkerID: 0, heartbeatIntervalMs: 1, heartbeatTimeoutMs: 1)),
    .heartbeat(Heartbeat(workerID: 1, committedStep: 99, unixMs: 1_764_400_000_000, stateSHA256: digest)),
    .heartbeat(Heartbeat(workerID: 0, committedStep: 0, unixMs: 0)),
    .stepPlan(StepPlan(step: 12, epoch: 1, learningRate: 1.5e-4, virtualShardCount: 16, virtualShards: [0, 5, 15],
                       ringOrder: [3, 1, 2], ringEndpoints: ["ipc://run/w3", "ipc://run/w1", "tcp://10.0.0.2:6000"],
                       chunkBytes: 1 << 20, exact: true, samplesConsumed: 3072, ringPublicKeys: [key, key, key])),
    .stepPlan(StepPlan(step: 0, epoch: 0, learningRate: 0, virtualShardCount: 1, virtualShards: [],
                       ringOrder: [1], ringEndpoints: [""], chunkBytes: 1, exact: false, samplesConsumed: 0)),
    .stepDone(StepDone(step: 12, ok: true, lossSum: 123.25, lossWeightSum: 96, maskedPixelCount: 1 << 40,
                       shardsDone: 3, computeMs: 812.5, reduceMs: 33.25, weightedLossSum: 99.5)),
    .stepDone(StepDone(step: 12, ok: false, lossSum: -.infinity, lossWeightSum: 0, maskedPixelCount: 0,
                       shardsDone: 0, computeMs: 0, reduceMs: 0, error: "ring timeout: neighbour 2 silent ✗")),
    .commit(Commit(step: 12)),
    .commit(Commit(step: 0)),
    .abort(Abort(step: 12, reason: "worker 2 timed out")),
    .abort(Abort(step: .max, reason: "")),
    .stateTransferRequest(StateTransferRequest(step: 11, joinerWorkerID: 4, joinerEndpoint: "tcp://10.0.0.4:6001",
                                               joinerPublicKey: key, chunkBytes: 4 << 20)),
    .stateChunk(StateChunk(step: 11, totalBytes: 100, chunkIndex: 1, chunkCount: 4, offset: 32)),
    .stateDone(StateDone(step: 11, totalBytes: 100, sha256: digest)),
    .checkpointRequest(CheckpointRequest(step: 200, chunkBytes: 8 << 20, reason: "periodic")),
    .checkpointChunk(CheckpointChunk(step: 200, fileName: "model.safetensors", totalBytes: 64, chunkIndex: 0,
                                     chunkCount: 1, offset: 0)),
    .checkpointDone(CheckpointDone(step: 200, fileName: "optimizer.safetensors", totalBytes: 64, sha256: digest)),
    .ringChunkHeader(RingChunkHeader(phase: .reduceScatter, ringStep: 1, segment: 2, chunkIndex: 3,
                                     elementOffset: 4096, elementCount: 8, elementBytes: 8, bucket: 1)),
    .ringChunkHeader(RingChunkHeader(phase: .allGather, ringStep: 0, segment: 0, chunkIndex: 0,
                                     elementOffset: 0, elementCount: 0, elementBytes: 4)),
    .leave(Leave(workerID: 5, reason: "SIGTERM")),
    .error(ErrorReport(code: 3, text: "dataset fingerprint differs")),
    .error(ErrorReport(code: 0, text: "")),
]

/// Payload bytes that satisfy what `body` implies (chunk bodies), empty otherwise.
func samplePayload(for body: Body) -> [[UInt8]] {
    switch body {
    case let .ringChunkHeader(header):
        let bytes = Int(header.elementCount) * Int(header.elementBytes)
        return bytes == 0 ? [] : [randomBytes(bytes / 2, seed: 1), randomBytes(bytes - bytes / 2, seed: 2)]
    case let .stateChunk(chunk): return [randomBytes(Int(chunk.totalBytes - chunk.offset), seed: 3)]
    case let .checkpointChunk(chunk): return [randomBytes(Int(chunk.totalBytes - chunk.offset), seed: 4)]
    default: return []
    }
}

/// A complete valid message for `body`: header frame followed by the payload frames.
func sampleFrames(_ body: Body, run: RunID = sampleRun, sequence: UInt64 = 1) -> [[UInt8]] {
    let step: UInt64 = switch body {
    case let .stepPlan(plan): plan.step
    case let .stepDone(done): done.step
    case let .commit(commit): commit.step
    case let .abort(abort): abort.step
    default: 0
    }
    let payload = samplePayload(for: body)
    let envelope = Envelope(type: body.type, runID: run, membershipEpoch: 3, step: step, sequence: sequence)
    return [WireCodec.encode(envelope, body: body, payload: payload)] + payload
}

/// SplitMix64: deterministic bytes without shared state.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var rng = SplitMix(state: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
}
