import CProtobufC
import WireC

// MARK: - protobuf bytes -> Swift body (every field checked before it is used)

extension Body {
    /// Decodes and validates the body of an envelope of type `type`.
    static func unpack(_ type: MessageType, _ bytes: UnsafeRawBufferPointer) throws(WireError) -> Body {
        switch type {
        case .join: .join(try Join.unpack(bytes))
        case .welcome: .welcome(try Welcome.unpack(bytes))
        case .heartbeat: .heartbeat(try Heartbeat.unpack(bytes))
        case .stepPlan: .stepPlan(try StepPlan.unpack(bytes))
        case .stepDone: .stepDone(try StepDone.unpack(bytes))
        case .commit: .commit(try Commit.unpack(bytes))
        case .abort: .abort(try Abort.unpack(bytes))
        case .stateTransferRequest: .stateTransferRequest(try StateTransferRequest.unpack(bytes))
        case .stateChunk: .stateChunk(try StateChunk.unpack(bytes))
        case .stateDone: .stateDone(try StateDone.unpack(bytes))
        case .checkpointRequest: .checkpointRequest(try CheckpointRequest.unpack(bytes))
        case .checkpointChunk: .checkpointChunk(try CheckpointChunk.unpack(bytes))
        case .checkpointDone: .checkpointDone(try CheckpointDone.unpack(bytes))
        case .ringChunkHeader: .ringChunkHeader(try RingChunkHeader.unpack(bytes))
        case .leave: .leave(try Leave.unpack(bytes))
        case .error: .error(try ErrorReport.unpack(bytes))
        }
    }
}

extension Join {
    static func unpack(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> Join {
        try CCodec.unpack(Neighbormae__V1__Join.self, bytes, part: .body, type: .join) { c throws(WireError) in
            let value = Join(
                workerName: try CRead.string(c.worker_name, "worker_name", part: .body),
                protocolVersion: c.protocol_version,
                buildFingerprint: try CRead.string(c.build_fingerprint, "build_fingerprint", part: .body),
                datasetFingerprint: try CRead.bytes(c.dataset_fingerprint, "dataset_fingerprint", part: .body),
                publicKey: try CRead.bytes(c.public_key, "public_key", part: .body),
                threads: c.threads, samplesPerSecond: c.samples_per_second,
                dataEndpoint: try CRead.string(c.data_endpoint, "data_endpoint", part: .body),
                committedStep: c.committed_step,
                stateSHA256: try CRead.bytes(c.state_sha256, "state_sha256", part: .body))
            try check(value.protocolVersion == Envelope.currentProtocolVersion,
                      "Join.protocol_version \(value.protocolVersion) differs from the envelope's")
            try checkDigest(value.datasetFingerprint, "Join.dataset_fingerprint")
            try checkKey(value.publicKey, "Join.public_key")
            try check(value.threads >= 1, "Join.threads is 0")
            try checkNonNegative(value.samplesPerSecond, "Join.samples_per_second")
            try check(!value.dataEndpoint.isEmpty, "Join.data_endpoint is empty")
            try check(value.stateSHA256.isEmpty || value.stateSHA256.count == 32,
                      "Join.state_sha256 has \(value.stateSHA256.count) bytes, expected 0 or 32")
            return value
        }
    }
}

extension Welcome {
    static func unpack(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> Welcome {
        try CCodec.unpack(Neighbormae__V1__Welcome.self, bytes, part: .body, type: .welcome) { c throws(WireError) in
            let runBytes = try CRead.bytes(c.run_id, "run_id", part: .body)
            guard let runID = RunID(bytes: runBytes) else {
                throw .malformed(.body, "Welcome.run_id has \(runBytes.count) bytes, expected 16")
            }
            let value = Welcome(
                workerID: c.worker_id, runID: runID, membershipEpoch: c.membership_epoch,
                configJSON: try CRead.string(c.config_json, "config_json", part: .body), nextStep: c.next_step,
                donorWorkerID: c.donor_worker_id, heartbeatIntervalMs: c.heartbeat_interval_ms,
                heartbeatTimeoutMs: c.heartbeat_timeout_ms)
            try check(value.workerID >= 1, "Welcome.worker_id is 0")
            try check(value.heartbeatIntervalMs >= 1, "Welcome.heartbeat_interval_ms is 0")
            try check(value.heartbeatTimeoutMs >= 1, "Welcome.heartbeat_timeout_ms is 0")
            return value
        }
    }
}

extension Heartbeat {
    static func unpack(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> Heartbeat {
        try CCodec.unpack(Neighbormae__V1__Heartbeat.self, bytes, part: .body,
                          type: .heartbeat) { c throws(WireError) in
            let value = Heartbeat(
                workerID: c.worker_id, committedStep: c.committed_step, unixMs: c.unix_ms,
                stateSHA256: try CRead.bytes(c.state_sha256, "state_sha256", part: .body))
            if !value.stateSHA256.isEmpty { try checkDigest(value.stateSHA256, "Heartbeat.state_sha256") }
            return value
        }
    }
}

extension StepPlan {
    static func unpack(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> StepPlan {
        try CCodec.unpack(Neighbormae__V1__StepPlan.self, bytes, part: .body, type: .stepPlan) { c throws(WireError) in
            let value = StepPlan(
                step: c.step, epoch: c.epoch, learningRate: c.learning_rate,
                virtualShardCount: c.virtual_shard_count,
                virtualShards: try CRead.array(c.n_virtual_shards, c.virtual_shards, "virtual_shards", part: .body),
                ringOrder: try CRead.array(c.n_ring_order, c.ring_order, "ring_order", part: .body),
                ringEndpoints: try CRead.strings(c.n_ring_endpoints, c.ring_endpoints, "ring_endpoints",
                                                 part: .body),
                chunkBytes: c.chunk_bytes, exact: c.exact != 0, samplesConsumed: c.samples_consumed,
                ringPublicKeys: try CRead.binaries(c.n_ring_public_keys, c.ring_public_keys, "ring_public_keys",
                                                   part: .body))
            try value.validate()
            return value
        }
    }

    private func validate() throws(WireError) {
        try checkNonNegative(learningRate, "StepPlan.learning_rate")
        try check(virtualShardCount >= 1, "StepPlan.virtual_shard_count is 0")
        try check(virtualShards.allSatisfy { $0 < virtualShardCount },
                  "StepPlan.virtual_shards has a shard >= virtual_shard_count \(virtualShardCount)")
        try check(Set(virtualShards).count == virtualShards.count, "StepPlan.virtual_shards has repeats")
        try check(!ringOrder.isEmpty, "StepPlan.ring_order is empty")
        try check(Set(ringOrder).count == ringOrder.count, "StepPlan.ring_order has repeats")
        try check(ringEndpoints.count == ringOrder.count,
                  "StepPlan has \(ringEndpoints.count) ring endpoints for \(ringOrder.count) ring members")
        try check(chunkBytes >= 1, "StepPlan.chunk_bytes is 0")
        try check(ringPublicKeys.isEmpty || ringPublicKeys.count == ringOrder.count,
                  "StepPlan has \(ringPublicKeys.count) ring public keys for \(ringOrder.count) ring members")
        try check(ringPublicKeys.allSatisfy { $0.count == 32 },
                  "StepPlan.ring_public_keys has a key that is not 32 bytes")
    }
}

extension StepDone {
    static func unpack(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> StepDone {
        try CCodec.unpack(Neighbormae__V1__StepDone.self, bytes, part: .body, type: .stepDone) { c throws(WireError) in
            let value = StepDone(
                step: c.step, ok: c.ok != 0, lossSum: c.loss_sum, lossWeightSum: c.loss_weight_sum,
                maskedPixelCount: c.masked_pixel_count, shardsDone: c.shards_done, computeMs: c.compute_ms,
                reduceMs: c.reduce_ms, error: try CRead.string(c.error, "error", part: .body),
                weightedLossSum: c.weighted_loss_sum)
            try checkNonNegative(value.computeMs, "StepDone.compute_ms")
            try checkNonNegative(value.reduceMs, "StepDone.reduce_ms")
            return value
        }
    }
}

extension Commit {
    static func unpack(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> Commit {
        try CCodec.unpack(Neighbormae__V1__Commit.self, bytes, part: .body, type: .commit) { c throws(WireError) in
            Commit(step: c.step)
        }
    }
}

extension Abort {
    static func unpack(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> Abort {
        try CCodec.unpack(Neighbormae__V1__Abort.self, bytes, part: .body, type: .abort) { c throws(WireError) in
            Abort(step: c.step, reason: try CRead.string(c.reason, "reason", part: .body))
        }
    }
}

extension RingChunkHeader {
    static func unpack(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> RingChunkHeader {
        try CCodec.unpack(Neighbormae__V1__RingChunkHeader.self, bytes, part: .body,
                          type: .ringChunkHeader) { c throws(WireError) in
            guard let phase = RingPhase(rawValue: c.phase.rawValue) else {
                throw .malformed(.body, "RingChunkHeader.phase \(c.phase.rawValue) is not a ring phase")
            }
            let value = RingChunkHeader(
                phase: phase, ringStep: c.ring_step, segment: c.segment, chunkIndex: c.chunk_index,
                elementOffset: c.element_offset, elementCount: c.element_count, elementBytes: c.element_bytes,
                bucket: c.bucket)
            try check([4, 5, 6, 8].contains(value.elementBytes), "RingChunkHeader.element_bytes is "
                      + "\(value.elementBytes), expected 4 (float32) or 5, 6, 8 (fixed point)")
            let (end, overflow) = value.elementOffset.addingReportingOverflow(value.elementCount)
            try check(!overflow && end <= UInt64(Int.max), "RingChunkHeader element range overflows")
            return value
        }
    }
}

extension Leave {
    static func unpack(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> Leave {
        try CCodec.unpack(Neighbormae__V1__Leave.self, bytes, part: .body, type: .leave) { c throws(WireError) in
            Leave(workerID: c.worker_id, reason: try CRead.string(c.reason, "reason", part: .body))
        }
    }
}

extension ErrorReport {
    static func unpack(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> ErrorReport {
        try CCodec.unpack(Neighbormae__V1__Error.self, bytes, part: .body, type: .error) { c throws(WireError) in
            ErrorReport(code: c.code, text: try CRead.string(c.text, "text", part: .body))
        }
    }
}

// MARK: - Field checks shared by the bodies

func check(_ condition: Bool, _ detail: @autoclosure () -> String) throws(WireError) {
    if !condition { throw .malformed(.body, detail()) }
}

func checkDigest(_ bytes: [UInt8], _ field: String) throws(WireError) {
    try check(bytes.count == 32, "\(field) has \(bytes.count) bytes, expected a 32-byte SHA-256")
}

func checkKey(_ bytes: [UInt8], _ field: String) throws(WireError) {
    try check(bytes.isEmpty || bytes.count == 32, "\(field) has \(bytes.count) bytes, expected 0 or 32")
}

func checkNonNegative(_ value: Double, _ field: String) throws(WireError) {
    try check(value.isFinite && value >= 0, "\(field) is \(value), expected a finite value >= 0")
}

/// A file name inside a checkpoint directory: not empty, no path separators, not "." or "..".
func checkFileName(_ name: String, _ field: String) throws(WireError) {
    try check(!name.isEmpty && name != "." && name != ".." && !name.contains("/") && name.utf8.count <= 255,
              "\(field) \(String(name.prefix(64)).debugDescription) is not a plain file name")
}
