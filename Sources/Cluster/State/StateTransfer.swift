import Comm
import NN
import Training
import Wire

// MARK: - Streaming a committed state to a joiner (SYSTEM.md §5)

/// Why a streamed state was refused. The joiner then reports nothing and the coordinator's transfer
/// deadline evicts it; it may join again.
public enum StateTransferError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A chunk out of order, of another step, or inconsistent with the image size.
    case unexpectedChunk(String)
    /// StateDone arrived before every byte did.
    case incomplete(received: Int, total: Int)
    /// The reassembled state's SHA-256 differs from the donor's.
    case hashMismatch(step: Int)

    public var description: String {
        switch self {
        case let .unexpectedChunk(detail): "state transfer: unexpected chunk: \(detail)"
        case let .incomplete(received, total): "state transfer: done after \(received) of \(total) bytes"
        case let .hashMismatch(step): "state transfer: the state of step \(step) does not match the donor's SHA-256"
        }
    }
}

/// The donor's side: the state as `StateChunk` messages (in order, at most `chunkBytes` each), then a
/// `StateDone` with its SHA-256. `transport` is connected to the joiner's data endpoint (one peer, FIFO).
public enum StateSender {
    /// Sends `state` and returns the SHA-256 the joiner must reproduce (also sent in StateDone).
    @discardableResult
    public static func send(_ state: TrainingState, over transport: Transport, runID: RunID, epoch: UInt64,
                            chunkBytes: Int, timeout: Duration) throws(TransportError) -> [UInt8] {
        precondition(chunkBytes > 0, "StateSender: chunkBytes must be positive")
        let image = StateImage(layout: state.arena.layout)
        let total = image.byteCount
        let chunks = (total + chunkBytes - 1) / chunkBytes
        let step = UInt64(state.step)
        var sequence: UInt64 = 0
        func envelope(_ type: MessageType) -> Envelope {
            sequence += 1
            return Envelope(type: type, runID: runID, membershipEpoch: epoch, step: step, sequence: sequence)
        }
        for index in 0..<chunks {
            let offset = index * chunkBytes, count = min(chunkBytes, total - offset)
            let frame = Frame(count: count) { image.read(state, at: offset, into: $0) }
            let body = StateChunk(step: step, totalBytes: UInt64(total), chunkIndex: UInt32(index),
                                  chunkCount: UInt32(chunks), offset: UInt64(offset))
            try transport.send(envelope(.stateChunk), body: .stateChunk(body), payload: [frame], to: nil,
                               timeout: timeout)
        }
        let digest = state.sha256Digest()
        try transport.send(envelope(.stateDone), body: .stateDone(StateDone(step: step, totalBytes: UInt64(total),
                                                                            sha256: digest)),
                           payload: [], to: nil, timeout: timeout)
        return digest
    }
}

/// The joiner's side: writes chunks of the expected step into `arena` as they arrive and, on StateDone,
/// checks that every byte came and that the state's SHA-256 equals the donor's.
public final class StateReceiver {
    public let step: Int
    public let arena: ParameterArena
    private let image: StateImage
    private var received = 0
    private var nextChunk: UInt32 = 0
    private var header = [UInt8](repeating: 0, count: StateImage.headerBytes)

    public init(step: Int, arena: ParameterArena) {
        self.step = step
        self.arena = arena
        image = StateImage(layout: arena.layout)
    }

    /// Feeds one validated message. Returns the verified state on StateDone, nil before; throws when the
    /// stream cannot be a faithful copy (the arena then holds a partial state and must not be used).
    public func accept(_ message: WireMessage<Frame>) throws(StateTransferError) -> TrainingState? {
        switch message.body {
        case let .stateChunk(chunk):
            try accept(chunk, payload: message.payload)
            return nil
        case let .stateDone(done):
            guard done.step == UInt64(step), done.totalBytes == UInt64(image.byteCount) else {
                throw .unexpectedChunk("StateDone of step \(done.step), \(done.totalBytes) bytes")
            }
            guard received == image.byteCount else { throw .incomplete(received: received, total: image.byteCount) }
            let (stepField, samples) = header.withUnsafeBytes { bytes in
                (UInt64(littleEndian: bytes.load(as: UInt64.self)),
                 UInt64(littleEndian: bytes.load(fromByteOffset: 8, as: UInt64.self)))
            }
            guard stepField == UInt64(step) else { throw .unexpectedChunk("image header says step \(stepField)") }
            let state = TrainingState(step: step, samplesConsumed: Int(samples), arena: arena)
            guard state.sha256Digest() == done.sha256 else { throw .hashMismatch(step: step) }
            return state
        default:
            throw .unexpectedChunk("a \(message.body.type) message on the state stream")
        }
    }

    private func accept(_ chunk: StateChunk, payload: [Frame]) throws(StateTransferError) {
        let length = payload.reduce(0) { $0 + $1.count }
        guard chunk.step == UInt64(step), chunk.totalBytes == UInt64(image.byteCount),
              chunk.chunkIndex == nextChunk, chunk.offset == UInt64(received),
              received + length <= image.byteCount else {
            throw .unexpectedChunk("chunk \(chunk.chunkIndex) at \(chunk.offset) of step \(chunk.step) "
                                   + "(expected chunk \(nextChunk) at \(received) of step \(step))")
        }
        for frame in payload {
            frame.withUnsafeBytes { image.write($0, at: received, into: arena, header: &header) }
            received += frame.count
        }
        nextChunk += 1
    }
}
