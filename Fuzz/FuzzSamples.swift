// MARK: - Seed messages: one or more valid values of every body type

enum FuzzSamples {
    static let digest = [UInt8](0..<32)

    static let bodies: [Body] = [
        .join(Join(workerName: "node-1:100", buildFingerprint: "0.1.0 skylake-avx512", datasetFingerprint: digest,
                   publicKey: [UInt8](repeating: 7, count: 32), threads: 2, samplesPerSecond: 12.5,
                   dataEndpoint: "tcp://10.0.0.1:6001", committedStep: 40, stateSHA256: digest)),
        .welcome(Welcome(workerID: 2, runID: FuzzFormat.runID, membershipEpoch: 2, configJSON: "{\"v\":16}",
                         nextStep: 10, donorWorkerID: 1, heartbeatIntervalMs: 500, heartbeatTimeoutMs: 3000)),
        .heartbeat(Heartbeat(workerID: 2, committedStep: 9, unixMs: 1_764_400_000_000, stateSHA256: digest)),
        .stepPlan(StepPlan(step: 10, epoch: 0, learningRate: 1e-4, virtualShardCount: 16, virtualShards: [0, 1, 2, 3],
                           ringOrder: [1, 2], ringEndpoints: ["ipc://r/1", "ipc://r/2"], chunkBytes: 1 << 18,
                           exact: true, samplesConsumed: 640,
                           ringPublicKeys: [[UInt8](repeating: 7, count: 32), [UInt8](repeating: 8, count: 32)])),
        .stepDone(StepDone(step: 10, ok: true, lossSum: 3.5, lossWeightSum: 4, maskedPixelCount: 123_456,
                           shardsDone: 4, computeMs: 900, reduceMs: 30, weightedLossSum: 3.25)),
        .commit(Commit(step: 10)),
        .abort(Abort(step: 10, reason: "timeout")),
        .stateTransferRequest(StateTransferRequest(step: 9, joinerWorkerID: 3, joinerEndpoint: "tcp://10.0.0.3:6000",
                                                   chunkBytes: 1 << 20)),
        .stateChunk(StateChunk(step: 9, totalBytes: 48, chunkIndex: 0, chunkCount: 2, offset: 16)),
        .stateDone(StateDone(step: 9, totalBytes: 48, sha256: digest)),
        .checkpointRequest(CheckpointRequest(step: 10, chunkBytes: 1 << 20, reason: "periodic")),
        .checkpointChunk(CheckpointChunk(step: 10, fileName: "model.safetensors", totalBytes: 40, chunkIndex: 0,
                                         chunkCount: 1, offset: 0)),
        .checkpointDone(CheckpointDone(step: 10, fileName: "model.safetensors", totalBytes: 40, sha256: digest)),
        .ringChunkHeader(RingChunkHeader(phase: .reduceScatter, ringStep: 0, segment: 1, chunkIndex: 0,
                                         elementOffset: 64, elementCount: 4, elementBytes: 8)),
        .ringChunkHeader(RingChunkHeader(phase: .allGather, ringStep: 0, segment: 0, chunkIndex: 1,
                                         elementOffset: 0, elementCount: 6, elementBytes: 4, bucket: 2)),
        .leave(Leave(workerID: 2, reason: "SIGTERM")),
        .error(ErrorReport(code: 1, text: "unknown key")),
    ]

    /// Payload frames consistent with `body` (two frames for ring chunks, to exercise multi-frame CRCs).
    static func payload(for body: Body) -> [[UInt8]] {
        let size: Int = switch body {
        case let .ringChunkHeader(header): Int(header.elementCount) * Int(header.elementBytes)
        case let .stateChunk(chunk): Int(chunk.totalBytes - chunk.offset)
        case let .checkpointChunk(chunk): Int(chunk.totalBytes - chunk.offset)
        default: 0
        }
        guard size > 0 else { return [] }
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        if case .ringChunkHeader = body { return [Array(bytes[..<(size / 2)]), Array(bytes[(size / 2)...])] }
        return [bytes]
    }
}
