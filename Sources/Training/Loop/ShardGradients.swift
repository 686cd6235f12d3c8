import EOData
import NN
import NeighborMAE
import TensorCore

// MARK: - The gradient of some virtual shards of a step: the unit of work of a worker

/// What computing some shards of a step produced, besides the gradient.
public struct ShardLosses: Sendable {
    /// Σ over the computed shards of (shard loss · shard masked pixels), weighted and plain objective.
    public var weightedSum: Double
    public var plainSum: Double
    /// Masked pixels of the computed shards, and of the whole step (the loss denominator).
    public var maskedPixels: Int
    public var stepMaskedPixels: Int
    public var shardCount: Int
}

/// Computes the gradient of chosen virtual shards of a step (SYSTEM.md §3, step 2).
///
/// Every shard's gradient is scaled by its share of the *whole step's* masked pixels (computed from
/// geometry, so no other worker's pixels are read), so the sum over all shards is the gradient of the
/// global-batch loss whichever worker computed which shard. In exact mode each shard's gradient is added
/// to `accumulator` in 64-bit fixed point, making that sum independent of the grouping bit for bit; a worker
/// of a single shard leaves its float gradient in `arena.gradients` instead (`singleContribution`), which the
/// ring converts where it adds it (`allReduceExact` of floats: the same bits, without the conversion pass). In
/// float mode the shards accumulate in `arena.gradients`.
public final class ShardGradients {
    public let config: TrainingConfig
    public let model: NeighborMAEModel
    public let arena: ParameterArena
    public let loader: BatchLoader
    public let shards: VirtualShards
    /// Exact mode: the fixed-point sum of the computed shards (what the ring all-reduces).
    public let accumulator: FixedPointAccumulator
    /// Exact mode, after `compute` of a single shard: its gradient is in `arena.gradients`, not in `accumulator`.
    public private(set) var singleContribution = false
    let pool: ThreadPool

    public init(config: TrainingConfig, model: NeighborMAEModel, arena: ParameterArena, loader: BatchLoader,
                shards: VirtualShards, pool: ThreadPool) {
        self.config = config
        self.model = model
        self.arena = arena
        self.loader = loader
        self.shards = shards
        self.pool = pool
        accumulator = FixedPointAccumulator(count: arena.gradients.count)
    }

    public var exact: Bool { config.gradientSum == .exact }

    /// Computes `shardIDs` (each < V) of `step`. Exact mode: the result is in `accumulator` (the arena's
    /// gradients hold scratch), or for a single shard in `arena.gradients` (`singleContribution`); float mode:
    /// in `arena.gradients`. `onForward` sees each shard's forward pass (for pictures). Throws on unreadable
    /// data or a gradient outside the fixed-point range (a single shard's: in the ring, or in `readSum`).
    public func compute(step: Int, shards shardIDs: [Int],
                        onForward: (ModelForward) -> Void = { _ in }) throws -> ShardLosses {
        let everyShard = Array(0..<shards.shardCount)
        let stepMasked = ShardBatch.maskedPixels(positions: shards.positions(step: step, shards: everyShard),
                                                 sampler: loader.sampler, config: config.model)
        arena.zeroGradients()
        accumulator.reset()
        singleContribution = exact && shardIDs.count == 1
        let context = LayerContext(arena: arena, pool: pool)
        var losses = ShardLosses(weightedSum: 0, plainSum: 0, maskedPixels: 0, stepMaskedPixels: stepMasked,
                                 shardCount: shardIDs.count)
        for v in shardIDs {
            precondition(v >= 0 && v < shards.shardCount, "ShardGradients: shard \(v) of \(shards.shardCount)")
            let batch = try ShardBatch(positions: Array(shards.positions(step: step, shard: v)), loader: loader,
                                       config: config.model)
            if exact && !singleContribution { arena.zeroGradients() }   // this shard alone, then into the sum
            let forward = model.forward(batch.model, context)
            let share = stepMasked > 0 ? Double(batch.maskedPixels) / Double(stepMasked) : 0
            model.backward(forward, objective: config.objective == .weighted ? .weighted : .plain, scale: share,
                           context)
            losses.weightedSum += forward.loss.weighted * Double(batch.maskedPixels)
            losses.plainSum += forward.loss.plain * Double(batch.maskedPixels)
            losses.maskedPixels += batch.maskedPixels
            if exact && !singleContribution { try addToAccumulator(step: step) }
            onForward(forward)
        }
        return losses
    }

    /// Leaves the summed gradient in `arena.gradients`: in exact mode from the accumulator (after the
    /// all-reduce, or directly when one process computed every shard); float mode already put it there.
    /// A single shard's gradient goes through the accumulator here, so that it is rounded to fixed point as the
    /// ring would round it.
    public func readSum(step: Int) throws {
        guard exact else { return }
        if singleContribution { try addToAccumulator(step: step) }
        do throws(FixedPointError) {
            try arena.gradients.withUnsafeMutableBufferPointer {
                (g: UnsafeMutableBufferPointer<Float>) throws(FixedPointError) in
                try accumulator.readFloats(into: g)
            }
        } catch {
            throw TrainingError.gradientOutOfRange(step: step, detail: describe(error))
        }
    }

    private func addToAccumulator(step: Int) throws {
        do throws(FixedPointError) {
            try arena.gradients.withUnsafeBufferPointer { (g: UnsafeBufferPointer<Float>) throws(FixedPointError) in
                try accumulator.add(g)
            }
        } catch {
            throw TrainingError.gradientOutOfRange(step: step, detail: describe(error))
        }
    }

    /// The error with the parameter that holds the offending element.
    private func describe(_ error: FixedPointError) -> String {
        let index: Int = switch error {
        case let .inputOutOfRange(index, _, _), let .overflow(index, _): index
        }
        let name = arena.layout.views.first { $0.range.contains(index) }?.name ?? "padding"
        return "\(error) (parameter \(name))"
    }
}
