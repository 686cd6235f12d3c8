// MARK: - State transfer (join, SYSTEM.md §5) and checkpoint streaming (SYSTEM.md §6)

/// Coordinator -> donor: stream the committed state of `step` to a joining worker.
public struct StateTransferRequest: Sendable, Equatable {
    /// Committed step whose state is sent.
    public var step: UInt64
    /// Receiving worker.
    public var joinerWorkerID: UInt32
    /// Endpoint the donor connects to.
    public var joinerEndpoint: String
    /// Joiner's CURVE public key: 32 bytes, or empty on plaintext loopback / ipc.
    public var joinerPublicKey: [UInt8]
    /// Chunk size in bytes (at least 1).
    public var chunkBytes: UInt64

    public init(step: UInt64, joinerWorkerID: UInt32, joinerEndpoint: String, joinerPublicKey: [UInt8] = [],
                chunkBytes: UInt64) {
        self.step = step
        self.joinerWorkerID = joinerWorkerID
        self.joinerEndpoint = joinerEndpoint
        self.joinerPublicKey = joinerPublicKey
        self.chunkBytes = chunkBytes
    }
}

/// Donor -> joiner: one chunk of state; the bytes are the payload frames.
public struct StateChunk: Sendable, Equatable {
    /// Committed step of the state.
    public var step: UInt64
    /// Size of the whole state.
    public var totalBytes: UInt64
    /// 0-based, < `chunkCount`.
    public var chunkIndex: UInt32
    /// Number of chunks (at least 1).
    public var chunkCount: UInt32
    /// Byte offset of this chunk; offset + payload length <= `totalBytes`.
    public var offset: UInt64

    public init(step: UInt64, totalBytes: UInt64, chunkIndex: UInt32, chunkCount: UInt32, offset: UInt64) {
        self.step = step
        self.totalBytes = totalBytes
        self.chunkIndex = chunkIndex
        self.chunkCount = chunkCount
        self.offset = offset
    }
}

/// Donor -> joiner: the state is complete; the joiner checks the hash before entering the ring.
public struct StateDone: Sendable, Equatable {
    public var step: UInt64
    public var totalBytes: UInt64
    /// SHA-256 of the whole state: exactly 32 bytes.
    public var sha256: [UInt8]

    public init(step: UInt64, totalBytes: UInt64, sha256: [UInt8]) {
        self.step = step
        self.totalBytes = totalBytes
        self.sha256 = sha256
    }
}

/// Coordinator -> worker: stream the committed state for a checkpoint.
public struct CheckpointRequest: Sendable, Equatable {
    /// Committed step to checkpoint.
    public var step: UInt64
    /// Chunk size in bytes (at least 1).
    public var chunkBytes: UInt64
    /// Periodic, on demand, SIGTERM, ... (logs only).
    public var reason: String

    public init(step: UInt64, chunkBytes: UInt64, reason: String) {
        self.step = step
        self.chunkBytes = chunkBytes
        self.reason = reason
    }
}

/// Worker -> coordinator: one chunk of a checkpoint file; the bytes are the payload frames.
public struct CheckpointChunk: Sendable, Equatable {
    public var step: UInt64
    /// File inside the checkpoint directory (e.g. model.safetensors), not empty.
    public var fileName: String
    /// Size of that file.
    public var totalBytes: UInt64
    /// 0-based, < `chunkCount`.
    public var chunkIndex: UInt32
    /// Chunks of that file (at least 1).
    public var chunkCount: UInt32
    /// Byte offset in the file; offset + payload length <= `totalBytes`.
    public var offset: UInt64

    public init(step: UInt64, fileName: String, totalBytes: UInt64, chunkIndex: UInt32, chunkCount: UInt32,
                offset: UInt64) {
        self.step = step
        self.fileName = fileName
        self.totalBytes = totalBytes
        self.chunkIndex = chunkIndex
        self.chunkCount = chunkCount
        self.offset = offset
    }
}

/// Worker -> coordinator: one checkpoint file is complete.
public struct CheckpointDone: Sendable, Equatable {
    public var step: UInt64
    /// File that is complete, not empty.
    public var fileName: String
    public var totalBytes: UInt64
    /// SHA-256 of the file: exactly 32 bytes.
    public var sha256: [UInt8]

    public init(step: UInt64, fileName: String, totalBytes: UInt64, sha256: [UInt8]) {
        self.step = step
        self.fileName = fileName
        self.totalBytes = totalBytes
        self.sha256 = sha256
    }
}
