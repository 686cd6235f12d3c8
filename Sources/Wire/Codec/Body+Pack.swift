import CProtobufC
import WireC

// MARK: - Swift body -> protobuf bytes

extension Body {
    /// The encoded body message (the Envelope's `body` field).
    func packed() -> [UInt8] {
        let arena = CArena()
        return withExtendedLifetime(arena) {
            switch self {
            case let .join(value): value.packed(arena)
            case let .welcome(value): value.packed(arena)
            case let .heartbeat(value): value.packed(arena)
            case let .stepPlan(value): value.packed(arena)
            case let .stepDone(value): value.packed(arena)
            case let .commit(value): value.packed()
            case let .abort(value): value.packed(arena)
            case let .stateTransferRequest(value): value.packed(arena)
            case let .stateChunk(value): value.packed()
            case let .stateDone(value): value.packed(arena)
            case let .checkpointRequest(value): value.packed(arena)
            case let .checkpointChunk(value): value.packed(arena)
            case let .checkpointDone(value): value.packed(arena)
            case let .ringChunkHeader(value): value.packed()
            case let .leave(value): value.packed(arena)
            case let .error(value): value.packed(arena)
            }
        }
    }
}

extension Join {
    func packed(_ arena: CArena) -> [UInt8] {
        var c = Neighbormae__V1__Join.initialized()
        c.worker_name = arena.string(workerName)
        c.protocol_version = protocolVersion
        c.build_fingerprint = arena.string(buildFingerprint)
        c.dataset_fingerprint = arena.binary(datasetFingerprint)
        c.public_key = arena.binary(publicKey)
        c.threads = threads
        c.samples_per_second = samplesPerSecond
        c.data_endpoint = arena.string(dataEndpoint)
        c.committed_step = committedStep
        c.state_sha256 = arena.binary(stateSHA256)
        return CCodec.pack(&c)
    }
}

extension Welcome {
    func packed(_ arena: CArena) -> [UInt8] {
        var c = Neighbormae__V1__Welcome.initialized()
        c.worker_id = workerID
        c.run_id = arena.binary(runID.bytes)
        c.membership_epoch = membershipEpoch
        c.config_json = arena.string(configJSON)
        c.next_step = nextStep
        c.donor_worker_id = donorWorkerID
        c.heartbeat_interval_ms = heartbeatIntervalMs
        c.heartbeat_timeout_ms = heartbeatTimeoutMs
        return CCodec.pack(&c)
    }
}

extension Heartbeat {
    func packed(_ arena: CArena) -> [UInt8] {
        var c = Neighbormae__V1__Heartbeat.initialized()
        c.worker_id = workerID
        c.committed_step = committedStep
        c.unix_ms = unixMs
        c.state_sha256 = arena.binary(stateSHA256)
        return CCodec.pack(&c)
    }
}

extension StepPlan {
    func packed(_ arena: CArena) -> [UInt8] {
        var c = Neighbormae__V1__StepPlan.initialized()
        c.step = step
        c.epoch = epoch
        c.learning_rate = learningRate
        c.virtual_shard_count = virtualShardCount
        c.n_virtual_shards = virtualShards.count
        c.virtual_shards = arena.array(virtualShards)
        c.n_ring_order = ringOrder.count
        c.ring_order = arena.array(ringOrder)
        c.n_ring_endpoints = ringEndpoints.count
        c.ring_endpoints = arena.strings(ringEndpoints)
        c.chunk_bytes = chunkBytes
        c.exact = exact ? 1 : 0
        c.samples_consumed = samplesConsumed
        c.n_ring_public_keys = ringPublicKeys.count
        c.ring_public_keys = arena.binaries(ringPublicKeys)
        return CCodec.pack(&c)
    }
}

extension StepDone {
    func packed(_ arena: CArena) -> [UInt8] {
        var c = Neighbormae__V1__StepDone.initialized()
        c.step = step
        c.ok = ok ? 1 : 0
        c.loss_sum = lossSum
        c.loss_weight_sum = lossWeightSum
        c.masked_pixel_count = maskedPixelCount
        c.shards_done = shardsDone
        c.compute_ms = computeMs
        c.reduce_ms = reduceMs
        c.error = arena.string(error)
        c.weighted_loss_sum = weightedLossSum
        return CCodec.pack(&c)
    }
}

extension Commit {
    func packed() -> [UInt8] {
        var c = Neighbormae__V1__Commit.initialized()
        c.step = step
        return CCodec.pack(&c)
    }
}

extension Abort {
    func packed(_ arena: CArena) -> [UInt8] {
        var c = Neighbormae__V1__Abort.initialized()
        c.step = step
        c.reason = arena.string(reason)
        return CCodec.pack(&c)
    }
}

extension StateTransferRequest {
    func packed(_ arena: CArena) -> [UInt8] {
        var c = Neighbormae__V1__StateTransferRequest.initialized()
        c.step = step
        c.joiner_worker_id = joinerWorkerID
        c.joiner_endpoint = arena.string(joinerEndpoint)
        c.joiner_public_key = arena.binary(joinerPublicKey)
        c.chunk_bytes = chunkBytes
        return CCodec.pack(&c)
    }
}

extension StateChunk {
    func packed() -> [UInt8] {
        var c = Neighbormae__V1__StateChunk.initialized()
        c.step = step
        c.total_bytes = totalBytes
        c.chunk_index = chunkIndex
        c.chunk_count = chunkCount
        c.offset = offset
        return CCodec.pack(&c)
    }
}

extension StateDone {
    func packed(_ arena: CArena) -> [UInt8] {
        var c = Neighbormae__V1__StateDone.initialized()
        c.step = step
        c.total_bytes = totalBytes
        c.sha256 = arena.binary(sha256)
        return CCodec.pack(&c)
    }
}

extension CheckpointRequest {
    func packed(_ arena: CArena) -> [UInt8] {
        var c = Neighbormae__V1__CheckpointRequest.initialized()
        c.step = step
        c.chunk_bytes = chunkBytes
        c.reason = arena.string(reason)
        return CCodec.pack(&c)
    }
}

extension CheckpointChunk {
    func packed(_ arena: CArena) -> [UInt8] {
        var c = Neighbormae__V1__CheckpointChunk.initialized()
        c.step = step
        c.file_name = arena.string(fileName)
        c.total_bytes = totalBytes
        c.chunk_index = chunkIndex
        c.chunk_count = chunkCount
        c.offset = offset
        return CCodec.pack(&c)
    }
}

extension CheckpointDone {
    func packed(_ arena: CArena) -> [UInt8] {
        var c = Neighbormae__V1__CheckpointDone.initialized()
        c.step = step
        c.file_name = arena.string(fileName)
        c.total_bytes = totalBytes
        c.sha256 = arena.binary(sha256)
        return CCodec.pack(&c)
    }
}

extension RingChunkHeader {
    func packed() -> [UInt8] {
        var c = Neighbormae__V1__RingChunkHeader.initialized()
        c.phase = Neighbormae__V1__RingPhase(rawValue: phase.rawValue)
        c.ring_step = ringStep
        c.segment = segment
        c.chunk_index = chunkIndex
        c.element_offset = elementOffset
        c.element_count = elementCount
        c.element_bytes = elementBytes
        c.bucket = bucket
        return CCodec.pack(&c)
    }
}

extension Leave {
    func packed(_ arena: CArena) -> [UInt8] {
        var c = Neighbormae__V1__Leave.initialized()
        c.worker_id = workerID
        c.reason = arena.string(reason)
        return CCodec.pack(&c)
    }
}

extension ErrorReport {
    func packed(_ arena: CArena) -> [UInt8] {
        var c = Neighbormae__V1__Error.initialized()
        c.code = code
        c.text = arena.string(text)
        return CCodec.pack(&c)
    }
}
