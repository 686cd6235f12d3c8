import EOData
import Foundation
import NN
import NeighborMAE
import TensorCore

/// What one optimizer step did.
public struct StepReport: Sendable {
    public let step: Int
    /// L_plain and L_weighted of the whole global batch (METHOD.md §5.2, §5.4).
    public let loss: Double
    public let weightedLoss: Double
    public let learningRate: Double
    public let seconds: Double
    public let pairsPerSecond: Double
    /// Global samples consumed after this step (the data cursor).
    public let samplesConsumed: Int
}

/// The single-process training loop: data → forward/backward per virtual shard → AdamW.
///
/// Each step's global batch is `virtualShards` fixed shards (SYSTEM.md §4); their gradients are
/// computed one shard at a time and normalised by the global masked-pixel count, exactly the work a
/// distributed worker does for the shards it is given. The run directory receives `config.json`,
/// `channel-stats.json`, `metrics.jsonl`, `loss.png` and `recon/step-NNNNNNN.png`.
public final class Trainer {
    public let config: TrainingConfig
    public let runDirectory: URL
    public let model: NeighborMAEModel
    public let arena: ParameterArena
    public let loader: BatchLoader
    public let shards: VirtualShards
    let pool: ThreadPool
    let metrics: MetricsLog
    /// Exact mode: the shards' gradients summed in 64-bit fixed point (what the ring all-reduces).
    let accumulator: FixedPointAccumulator
    /// A shard's gradient that did not fit the fixed-point format (reported after the step's shards).
    private var accumulationError: FixedPointError?
    /// `<run>/checkpoints`.
    public let checkpoints: CheckpointStore
    /// The next step to run (0-based).
    public private(set) var nextStep = 0
    /// Every report so far (for the loss picture).
    public private(set) var reports: [StepReport] = []

    /// Opens a run directory. With `resume`, parameters, moments and the step come from the newest
    /// valid checkpoint (older ones are tried when newer ones fail verification; each skip is printed),
    /// which must have been written with the same model configuration and seed.
    public init(config: TrainingConfig, runDirectory: URL, resume: Bool = false,
                log: (String) -> Void = { print("[train] \($0)") }) throws {
        try config.validate()
        self.config = config
        self.runDirectory = runDirectory
        let files = FileManager.default
        try files.createDirectory(at: runDirectory.appendingPathComponent("recon"), withIntermediateDirectories: true)
        let threads = config.threads == 0 ? ThreadPool.machineThreadCount : config.threads
        pool = ThreadPool(threadCount: threads)
        var pairs = config.pairs
        pairs.seed = config.seed
        let sampler = try PairSampler(sources: config.sources, config: pairs)
        guard sampler.channels == config.model.channels else {
            throw TrainingConfigError.invalid("the dataset has \(sampler.channels) bands, model.channels is "
                                              + "\(config.model.channels); hint: set model.channels to \(sampler.channels)")
        }
        loader = BatchLoader(sampler: sampler, threadCount: threads)
        shards = try VirtualShards(batchSize: config.batchSize, shardCount: config.virtualShards)
        model = NeighborMAEModel(config: config.model)
        arena = ParameterArena(layout: model.layout, seed: config.seed)
        accumulator = FixedPointAccumulator(count: arena.gradients.count)
        checkpoints = CheckpointStore(directory: runDirectory.appendingPathComponent("checkpoints"),
                                      keep: config.keepCheckpoints)
        let metricsURL = runDirectory.appendingPathComponent("metrics.jsonl")
        if resume {
            let loaded = try checkpoints.loadNewestValid(into: arena, log: log)
            try Self.checkResumable(loaded, config: config)
            nextStep = loaded.manifest.step
            try MetricsLog.discardRecords(in: metricsURL, fromStep: nextStep)   // those steps run again
            log("resumed from \(loaded.url.lastPathComponent): step \(nextStep), "
                + "\(loaded.manifest.samplesConsumed) samples consumed")
        }
        metrics = try MetricsLog(url: metricsURL)

        try Data(config.yaml().utf8).write(to: runDirectory.appendingPathComponent("config.yaml"))
        try sampler.stats.jsonData().write(to: runDirectory.appendingPathComponent("channel-stats.json"))
    }

    /// Runs the remaining steps, calling `onStep` after each.
    public func run(_ onStep: (StepReport) -> Void = { _ in }) throws {
        while nextStep < config.steps {
            onStep(try trainStep())
        }
        try writeLossPicture()
    }

    /// One optimizer step over the whole global batch.
    @discardableResult
    public func trainStep() throws -> StepReport {
        let start = DispatchTime.now()
        let step = nextStep
        let batches = try (0..<shards.shardCount).map { v throws(EODataError) in
            try ShardBatch(positions: Array(shards.positions(step: step, shard: v)), loader: loader, config: config.model)
        }
        // The loss denominator from geometry alone, as a worker holding only some shards computes it.
        let stepPositions = shards.positions(step: step, shards: Array(0..<shards.shardCount))
        let globalMasked = ShardBatch.maskedPixels(positions: stepPositions, sampler: loader.sampler,
                                                   config: config.model)
        precondition(globalMasked == batches.reduce(0) { $0 + $1.maskedPixels },
                     "Trainer: masked pixels from geometry differ from the loaded shards'")
        let exact = config.gradientSum == .exact
        arena.zeroGradients()
        accumulator.reset()
        let context = LayerContext(arena: arena, pool: pool)
        var weightedSum = 0.0, plainSum = 0.0
        var firstForward: ModelForward?
        for batch in batches {
            if exact { arena.zeroGradients() }   // each shard's gradient alone, then into the exact sum
            let forward = model.forward(batch.model, context)
            let share = globalMasked > 0 ? Double(batch.maskedPixels) / Double(globalMasked) : 0
            model.backward(forward, objective: config.objective == .weighted ? .weighted : .plain, scale: share, context)
            weightedSum += forward.loss.weighted * Double(batch.maskedPixels)
            plainSum += forward.loss.plain * Double(batch.maskedPixels)
            if exact { accumulate(step: step) }
            if firstForward == nil { firstForward = forward }
        }
        let learningRate = config.schedule.learningRate(at: step)
        if exact { try readAccumulatedGradients(step: step) }
        adamWStep(arena, config: config.optimizer, learningRate: Float(learningRate), step: step + 1, pool: pool)

        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let denominator = Double(max(globalMasked, 1))
        let report = StepReport(step: step, loss: plainSum / denominator, weightedLoss: weightedSum / denominator,
                                learningRate: learningRate, seconds: seconds,
                                pairsPerSecond: Double(config.batchSize) / seconds,
                                samplesConsumed: (step + 1) * config.batchSize)
        reports.append(report)
        nextStep += 1
        try record(report, forward: firstForward!)
        return report
    }

    // MARK: - Exact gradient sums (SYSTEM.md §4)

    /// Adds the gradient the last shard left in the arena to the fixed-point sum.
    private func accumulate(step: Int) {
        guard accumulationError == nil else { return }
        do throws(FixedPointError) {
            try arena.gradients.withUnsafeBufferPointer { (g: UnsafeBufferPointer<Float>) throws(FixedPointError) in
                try accumulator.add(g)
            }
        } catch {
            accumulationError = error
        }
    }

    /// Replaces the arena's gradients by the exact sum over the step's shards.
    private func readAccumulatedGradients(step: Int) throws {
        if let error = accumulationError {
            accumulationError = nil
            throw TrainingError.gradientOutOfRange(step: step, detail: describe(error))
        }
        do throws(FixedPointError) {
            try arena.gradients.withUnsafeMutableBufferPointer {
                (g: UnsafeMutableBufferPointer<Float>) throws(FixedPointError) in
                try accumulator.readFloats(into: g)
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

    /// The durable state after the steps run so far.
    public var state: TrainingState {
        TrainingState(step: nextStep, samplesConsumed: nextStep * config.batchSize, arena: arena)
    }

    /// A checkpoint may only continue a run of the same model, seed and global batch: anything else
    /// would silently train a different run.
    static func checkResumable(_ loaded: LoadedCheckpoint, config: TrainingConfig) throws {
        let saved = loaded.manifest.config
        var differences: [String] = []
        if saved.model != config.model { differences.append("model") }
        if saved.seed != config.seed { differences.append("seed \(saved.seed) vs \(config.seed)") }
        if saved.batchSize != config.batchSize || saved.virtualShards != config.virtualShards {
            differences.append("batch \(saved.batchSize)/\(saved.virtualShards) vs \(config.batchSize)/\(config.virtualShards)")
        }
        if saved.pairs != config.pairs { differences.append("pairs") }
        guard differences.isEmpty else {
            throw TrainingConfigError.invalid("\(loaded.url.lastPathComponent) belongs to a different run ("
                + differences.joined(separator: ", ") + "); hint: resume with the run's own config.json")
        }
        guard loaded.manifest.step <= config.steps else {
            throw TrainingConfigError.invalid("\(loaded.url.lastPathComponent) is past the last step \(config.steps); "
                                              + "hint: raise --steps to continue training")
        }
    }

    private func record(_ report: StepReport, forward: ModelForward) throws {
        let last = report.step + 1 == config.steps
        if report.step % config.logEvery == 0 || last {
            try metrics.append([
                "step": report.step, "loss": report.loss, "weighted_loss": report.weightedLoss,
                "lr": report.learningRate, "step_seconds": report.seconds, "pairs_per_s": report.pairsPerSecond,
                "samples": report.samplesConsumed,
            ])
        }
        let checkpointDue = config.checkpointEvery > 0 && (report.step + 1) % config.checkpointEvery == 0
        if checkpointDue || last {
            try checkpoints.write(state, config: config)
        }
        if config.pictureEvery > 0 && (report.step % config.pictureEvery == 0 || last) {
            let picture = reconstructionPicture(forward, pairs: config.picturePairs, normPix: config.model.normPixLoss,
                                                stats: loader.sampler.stats)
            let name = String(format: "step-%07d.png", report.step)
            try Data(picture.png()).write(to: runDirectory.appendingPathComponent("recon/\(name)"))
            try writeLossPicture()
        }
    }

    /// `loss.png`: plain (red) and weighted (blue) loss per step, log scale.
    public func writeLossPicture() throws {
        let plain = reports.map { (step: Double($0.step), value: $0.loss) }
        let weighted = reports.map { (step: Double($0.step), value: $0.weightedLoss) }
        let canvas = LossCurvePlot().render([.init(points: plain, color: (200, 30, 30)),
                                             .init(points: weighted, color: (30, 60, 200))])
        try Data(canvas.png()).write(to: runDirectory.appendingPathComponent("loss.png"))
    }
}
