#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-iteration learning rate: linear warm-up then half-cosine decay (METHOD.md §6.1, the
/// reference code's `adjust_learning_rate`):
///
///     it < warmup:  lr = peak · (it + 1) / warmup        (the reference's (it+1) factor)
///     otherwise:    lr = minimum + (peak − minimum) · ½ · (1 + cos(π · (it − warmup) / (total − warmup)))
///
/// `it` is the 0-based optimizer step.
public struct LearningRateSchedule: Sendable, Codable, Equatable {
    public var peak: Double
    public var minimum: Double
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(peak: Double, minimum: Double = 0, warmupSteps: Int, totalSteps: Int) {
        precondition(totalSteps >= 1 && warmupSteps >= 0 && warmupSteps <= totalSteps,
                     "LearningRateSchedule: need 0 <= warmup (\(warmupSteps)) <= total (\(totalSteps)), total >= 1")
        self.peak = peak
        self.minimum = minimum
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// Warm-up over `warmupFraction` of `totalSteps` (5 % in the reference recipe).
    public init(peak: Double, minimum: Double = 0, warmupFraction: Double, totalSteps: Int) {
        self.init(peak: peak, minimum: minimum,
                  warmupSteps: Int((warmupFraction * Double(totalSteps)).rounded()), totalSteps: totalSteps)
    }

    public func learningRate(at step: Int) -> Double {
        if step < warmupSteps {
            return peak * Double(step + 1) / Double(warmupSteps)
        }
        let span = max(totalSteps - warmupSteps, 1)
        let progress = min(Double(step - warmupSteps) / Double(span), 1)
        return minimum + (peak - minimum) * 0.5 * (1 + cos(Double.pi * progress))
    }
}
