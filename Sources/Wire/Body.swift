// MARK: - The typed body of a message

/// Every body the protocol knows, as plain Swift values (no C structs).
public enum Body: Sendable, Equatable {
    case join(Join)
    case welcome(Welcome)
    case heartbeat(Heartbeat)
    case stepPlan(StepPlan)
    case stepDone(StepDone)
    case commit(Commit)
    case abort(Abort)
    case stateTransferRequest(StateTransferRequest)
    case stateChunk(StateChunk)
    case stateDone(StateDone)
    case checkpointRequest(CheckpointRequest)
    case checkpointChunk(CheckpointChunk)
    case checkpointDone(CheckpointDone)
    case ringChunkHeader(RingChunkHeader)
    case leave(Leave)
    case error(ErrorReport)

    /// The envelope type that announces this body.
    public var type: MessageType {
        switch self {
        case .join: .join
        case .welcome: .welcome
        case .heartbeat: .heartbeat
        case .stepPlan: .stepPlan
        case .stepDone: .stepDone
        case .commit: .commit
        case .abort: .abort
        case .stateTransferRequest: .stateTransferRequest
        case .stateChunk: .stateChunk
        case .stateDone: .stateDone
        case .checkpointRequest: .checkpointRequest
        case .checkpointChunk: .checkpointChunk
        case .checkpointDone: .checkpointDone
        case .ringChunkHeader: .ringChunkHeader
        case .leave: .leave
        case .error: .error
        }
    }
}
