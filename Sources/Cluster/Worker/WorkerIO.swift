import Wire

// MARK: - What goes into and comes out of the worker's state machine

/// An input to `WorkerState.on(_:now:)`.
public enum WorkerEvent: Sendable, Equatable {
    /// A validated control message from the coordinator.
    case message(envelope: Envelope, body: Body)
    /// The compute thread finished (or failed) the step it was given: gradients of the assigned shards
    /// computed and all-reduced, the update not yet applied.
    case stepFinished(step: Int, epoch: UInt64, outcome: StepOutcome)
    /// The shell received and verified (against the donor's SHA-256) the state of `step`.
    case stateReceived(step: Int, sha256: [UInt8])
    /// The shell applied the update of `step`; the state hash after it, or empty when not computed.
    case updateApplied(step: Int, sha256: [UInt8])
    /// Time passed.
    case tick
    /// SIGTERM or SIGINT: leave gracefully.
    case terminate
}

/// The result of computing and all-reducing one step's gradient.
public enum StepOutcome: Sendable, Equatable {
    case reduced(lossSum: Double, weightedLossSum: Double, lossWeightSum: Double, maskedPixels: UInt64,
                 shards: UInt32, computeMs: Double, reduceMs: Double)
    case failed(String)
}

/// An output of the worker's state machine, carried out by the shell in order.
public enum WorkerDirective: Sendable, Equatable {
    /// Send `body` to the coordinator with this epoch and step.
    case send(body: Body, epoch: UInt64, step: UInt64)
    /// Compute the plan's shards and all-reduce with the ring (on the compute thread); report `stepFinished`.
    case runStep(StepPlan, epoch: UInt64)
    /// Apply the AdamW update of the reduced gradient of `step`; report `updateApplied`.
    case applyUpdate(step: Int, learningRate: Double)
    /// Drop the reduced gradient of an aborted attempt (and cancel a running one).
    case discardStep(step: Int)
    /// Stream the current state (after `request.step` steps) to a joiner.
    case streamState(StateTransferRequest)
    /// Stream the current state to the coordinator as a checkpoint.
    case sendCheckpoint(CheckpointRequest)
    /// Wait for a donor's state at the data endpoint (the shell accepts chunks of `step` or later).
    case expectState(step: Int)
    /// Stop waiting for a donor's state (the worker keeps its own, or joins again).
    case stopExpectingState
    /// Send Join again (the coordinator restarted or evicted us).
    case rejoin
    case log(String)
    /// Leave the process with this reason (0 = normal end).
    case exit(code: Int32, reason: String)
}
