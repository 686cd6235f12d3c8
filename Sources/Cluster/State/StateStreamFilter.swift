import Wire

// MARK: - Which messages on a joiner's ring receiver belong to the state stream it assembles

/// What a joiner does with a message that arrives while it waits for a donor's state.
public enum StateStreamDecision: Sendable, Equatable {
    /// Chunk 0 of a stream of `step`: (re)start assembling it (a new donor after a failed transfer restarts).
    case start(step: Int)
    /// The next piece of the stream being assembled.
    case accept
    /// Not part of it: a late ring chunk, the middle of a stream whose start was missed, an older transfer.
    case skip
}

public enum StateStreamFilter {
    /// - Parameters: `expecting`: the step of the Welcome (the donor sends that boundary's state or a later
    ///   one); `assembling`: the step of the stream being assembled, if any.
    public static func decide(_ body: Body, expecting: Int, assembling: Int?) -> StateStreamDecision {
        switch body {
        case let .stateChunk(chunk) where chunk.chunkIndex == 0 && chunk.step >= UInt64(max(expecting, 0)):
            return .start(step: Int(clamping: chunk.step))
        case let .stateChunk(chunk):
            return assembling.map { UInt64($0) == chunk.step } == true ? .accept : .skip
        case let .stateDone(done):
            return assembling.map { UInt64($0) == done.step } == true ? .accept : .skip
        default:
            return .skip
        }
    }
}
