import CProtobufC
import WireC

// MARK: - protobuf bytes -> Swift body: state transfer and checkpoint streaming

extension StateTransferRequest {
    static func unpack(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> StateTransferRequest {
        try CCodec.unpack(Neighbormae__V1__StateTransferRequest.self, bytes, part: .body,
                          type: .stateTransferRequest) { c throws(WireError) in
            let value = StateTransferRequest(
                step: c.step, joinerWorkerID: c.joiner_worker_id,
                joinerEndpoint: try CRead.string(c.joiner_endpoint, "joiner_endpoint", part: .body),
                joinerPublicKey: try CRead.bytes(c.joiner_public_key, "joiner_public_key", part: .body),
                chunkBytes: c.chunk_bytes)
            try checkKey(value.joinerPublicKey, "StateTransferRequest.joiner_public_key")
            try check(!value.joinerEndpoint.isEmpty, "StateTransferRequest.joiner_endpoint is empty")
            try check(value.chunkBytes >= 1, "StateTransferRequest.chunk_bytes is 0")
            return value
        }
    }
}

extension StateChunk {
    static func unpack(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> StateChunk {
        try CCodec.unpack(Neighbormae__V1__StateChunk.self, bytes, part: .body,
                          type: .stateChunk) { c throws(WireError) in
            let value = StateChunk(step: c.step, totalBytes: c.total_bytes, chunkIndex: c.chunk_index,
                                   chunkCount: c.chunk_count, offset: c.offset)
            try check(value.chunkIndex < value.chunkCount,
                      "StateChunk.chunk_index \(value.chunkIndex) is not below chunk_count \(value.chunkCount)")
            try check(value.offset <= value.totalBytes, "StateChunk.offset is beyond total_bytes")
            return value
        }
    }
}

extension StateDone {
    static func unpack(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> StateDone {
        try CCodec.unpack(Neighbormae__V1__StateDone.self, bytes, part: .body,
                          type: .stateDone) { c throws(WireError) in
            let value = StateDone(step: c.step, totalBytes: c.total_bytes,
                                  sha256: try CRead.bytes(c.sha256, "sha256", part: .body))
            try checkDigest(value.sha256, "StateDone.sha256")
            return value
        }
    }
}

extension CheckpointRequest {
    static func unpack(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> CheckpointRequest {
        try CCodec.unpack(Neighbormae__V1__CheckpointRequest.self, bytes, part: .body,
                          type: .checkpointRequest) { c throws(WireError) in
            let value = CheckpointRequest(step: c.step, chunkBytes: c.chunk_bytes,
                                          reason: try CRead.string(c.reason, "reason", part: .body))
            try check(value.chunkBytes >= 1, "CheckpointRequest.chunk_bytes is 0")
            return value
        }
    }
}

extension CheckpointChunk {
    static func unpack(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> CheckpointChunk {
        try CCodec.unpack(Neighbormae__V1__CheckpointChunk.self, bytes, part: .body,
                          type: .checkpointChunk) { c throws(WireError) in
            let value = CheckpointChunk(
                step: c.step, fileName: try CRead.string(c.file_name, "file_name", part: .body),
                totalBytes: c.total_bytes, chunkIndex: c.chunk_index, chunkCount: c.chunk_count, offset: c.offset)
            try checkFileName(value.fileName, "CheckpointChunk.file_name")
            try check(value.chunkIndex < value.chunkCount,
                      "CheckpointChunk.chunk_index \(value.chunkIndex) is not below chunk_count \(value.chunkCount)")
            try check(value.offset <= value.totalBytes, "CheckpointChunk.offset is beyond total_bytes")
            return value
        }
    }
}

extension CheckpointDone {
    static func unpack(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> CheckpointDone {
        try CCodec.unpack(Neighbormae__V1__CheckpointDone.self, bytes, part: .body,
                          type: .checkpointDone) { c throws(WireError) in
            let value = CheckpointDone(
                step: c.step, fileName: try CRead.string(c.file_name, "file_name", part: .body),
                totalBytes: c.total_bytes, sha256: try CRead.bytes(c.sha256, "sha256", part: .body))
            try checkFileName(value.fileName, "CheckpointDone.file_name")
            try checkDigest(value.sha256, "CheckpointDone.sha256")
            return value
        }
    }
}
