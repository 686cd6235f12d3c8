// MARK: - A training step that cannot go on

/// Failures of a step that are properties of the run, not bugs: the loop stops with the reason.
public enum TrainingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A shard's gradient (or the sum) left the fixed-point range: the run diverged.
    case gradientOutOfRange(step: Int, detail: String)

    public var description: String {
        switch self {
        case let .gradientOutOfRange(step, detail):
            "training: step \(step): gradient out of the exact-sum range: \(detail) "
                + "(hint: the run diverged; lower the learning rate or resume from an earlier checkpoint)"
        }
    }
}
