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
    /// The model, arena, data pipeline and shard gradients of this process.
    public let replica: Replica
    public var model: NeighborMAEModel { replica.model }
    public var arena: ParameterArena { replica.arena }
    public var loader: BatchLoader { replica.loader }
    public var shards: VirtualShards { replica.shards }
    /// Computes the shards' gradients (all of them, here; a worker computes its own).
    public var gradients: ShardGradients { replica.gradients }
    let metrics: MetricsLog
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
        try FileManager.default.createDirectory(at: runDirectory.appendingPathComponent("recon"),
                                                withIntermediateDirectories: true)
        replica = try Replica(config: config)
        checkpoints = CheckpointStore(directory: runDirectory.appendingPathComponent("checkpoints"),
                                      keep: config.keepCheckpoints)
        let metricsURL = runDirectory.appendingPathComponent("metrics.jsonl")
        if resume {
            let loaded = try checkpoints.loadNewestValid(into: replica.arena, log: log)
            try Self.checkResumable(loaded, config: config)
            nextStep = loaded.manifest.step
            try MetricsLog.discardRecords(in: metricsURL, fromStep: nextStep)   // those steps run again
            log("resumed from \(loaded.url.lastPathComponent): step \(nextStep), "
                + "\(loaded.manifest.samplesConsumed) samples consumed")
        }
        metrics = try MetricsLog(url: metricsURL)

        try Data(config.yaml().utf8).write(to: runDirectory.appendingPathComponent("config.yaml"))
        try loader.sampler.stats.jsonData().write(to: runDirectory.appendingPathComponent("channel-stats.json"))
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
        var firstForward: ModelForward?
        let losses = try gradients.compute(step: step, shards: Array(0..<shards.shardCount)) { forward in
            if firstForward == nil { firstForward = forward }
        }
        try gradients.readSum(step: step)
        let learningRate = config.schedule.learningRate(at: step)
        replica.applyUpdate(step: step, learningRate: learningRate)

        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let denominator = Double(max(losses.stepMaskedPixels, 1))
        let report = StepReport(step: step, loss: losses.plainSum / denominator,
                                weightedLoss: losses.weightedSum / denominator,
                                learningRate: learningRate, seconds: seconds,
                                pairsPerSecond: Double(config.batchSize) / seconds,
                                samplesConsumed: (step + 1) * config.batchSize)
        reports.append(report)
        nextStep += 1
        try record(report, forward: firstForward!)
        return report
    }

    /// The durable state after the steps run so far.
    public var state: TrainingState {
        replica.state(afterSteps: nextStep)
    }

    /// A checkpoint may only continue a run of the same model, seed and global batch: anything else
    /// would silently train a different run.
    public static func checkResumable(_ loaded: LoadedCheckpoint, config: TrainingConfig) throws {
        let saved = loaded.manifest.config
        var differences: [String] = []
        if saved.model != config.model { differences.append("model") }
        if saved.seed != config.seed { differences.append("seed \(saved.seed) vs \(config.seed)") }
        if saved.batchSize != config.batchSize || saved.virtualShards != config.virtualShards {
            differences.append("batch \(saved.batchSize)/\(saved.virtualShards) vs "
                               + "\(config.batchSize)/\(config.virtualShards)")
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
