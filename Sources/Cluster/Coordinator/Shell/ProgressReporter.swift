import Foundation
import Training

// MARK: - Committed steps: metrics.jsonl, the progress line, loss.png

/// Records every committed step in `metrics.jsonl` (one line per step, with the shard assignment, so
/// each sample's consumption can be audited) and prints progress: step, loss, pairs/s, ETA, workers.
final class ProgressReporter {
    let config: TrainingConfig
    let metricsURL: URL
    let runDirectory: URL
    private var metrics: MetricsLog
    private let log: @Sendable (String) -> Void
    private var lastCommit = ContinuousClock.now
    /// Exponential moving average of seconds per committed step.
    private var secondsPerStep: Double?
    /// (step, L_plain, L_weighted) of every committed step, for loss.png.
    private var losses: [(step: Double, plain: Double, weighted: Double)] = []

    init(config: TrainingConfig, metricsURL: URL, runDirectory: URL, log: @escaping @Sendable (String) -> Void) throws {
        self.config = config
        self.metricsURL = metricsURL
        self.runDirectory = runDirectory
        self.log = log
        metrics = try MetricsLog(url: metricsURL)
        losses = try Self.previousLosses(metricsURL)
    }

    /// Pairs per second over recent steps (0 before the first).
    var pairsPerSecond: Double { secondsPerStep.map { Double(config.batchSize) / max($0, 1e-9) } ?? 0 }

    func committed(_ summary: StepSummary) {
        let now = ContinuousClock.now
        let duration = now - lastCommit
        lastCommit = now
        let seconds = milliseconds(duration) / 1000
        secondsPerStep = secondsPerStep.map { 0.8 * $0 + 0.2 * seconds } ?? seconds
        losses.append((Double(summary.step), summary.loss, summary.weightedLoss))
        func byWorker<V>(_ values: [UInt32: V]) -> [String: V] {
            Dictionary(uniqueKeysWithValues: values.map { (String($0.key), $0.value) })
        }
        var record: [String: Any] = [
            "step": summary.step, "loss": summary.loss, "weighted_loss": summary.weightedLoss,
            "lr": summary.learningRate,
            "samples": summary.samplesConsumed, "workers": summary.workers.map(Int.init),
            "shards": byWorker(summary.shards.mapValues { $0.map(Int.init) }),
            "epoch": Int(summary.epoch), "attempts": summary.attempts, "step_seconds": seconds,
            "pairs_per_s": Double(config.batchSize) / max(seconds, 1e-9),
            "compute_ms": byWorker(summary.computeMs), "reduce_ms": byWorker(summary.reduceMs),
        ]
        if !summary.joinLatencyMs.isEmpty { record["join_ms"] = byWorker(summary.joinLatencyMs.mapValues(Int.init)) }
        for (id, latency) in summary.joinLatencyMs.sorted(by: { $0.key < $1.key }) where summary.step > 0 {
            log("[coordinator] worker \(id) contributes from step \(summary.step), \(latency) ms after registering")
        }
        do {
            try metrics.append(record)
        } catch {
            log("[coordinator] could not append to \(metricsURL.path): \(error)")
        }
        let last = summary.step + 1 == config.steps
        guard summary.step % config.logEvery == 0 || last else { return }
        let eta = Double(config.steps - summary.step - 1) * (secondsPerStep ?? 0)
        log(String(format: "[coordinator] step %5d/%d  loss %.4f  weighted %.4f  lr %.2e  %6.1f pairs/s",
                   summary.step, config.steps, summary.loss, summary.weightedLoss, summary.learningRate,
                   Double(config.batchSize) / max(secondsPerStep ?? 1, 1e-9))
            + "  ETA \(Self.format(seconds: eta))  workers \(summary.workers.count) \(summary.workers)")
    }

    /// The run continues from `step` (a resume, a restart, or a reload after every replica was lost):
    /// records of that step and later belong to steps that run again.
    func rewind(to step: Int) {
        do {
            try MetricsLog.discardRecords(in: metricsURL, fromStep: step)
            metrics = try MetricsLog(url: metricsURL)
        } catch {
            log("[coordinator] could not rewind \(metricsURL.path) to step \(step): \(error)")
        }
        losses.removeAll { $0.step >= Double(step) }
    }

    /// Writes `loss.png`: plain loss red, weighted loss blue (as the single-process trainer does).
    func writeLossPicture() {
        let plain = losses.map { (step: $0.step, value: $0.plain) }
        let weighted = losses.map { (step: $0.step, value: $0.weighted) }
        let canvas = LossCurvePlot().render([.init(points: plain, color: (200, 30, 30)),
                                             .init(points: weighted, color: (30, 60, 200))])
        do {
            try Data(canvas.png()).write(to: runDirectory.appendingPathComponent("loss.png"))
        } catch {
            log("[coordinator] could not write loss.png: \(error)")
        }
    }

    private static func previousLosses(_ url: URL) throws -> [(step: Double, plain: Double, weighted: Double)] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return try MetricsLog.read(url).compactMap { record in
            guard let s = record["step"] as? Int, let loss = record["loss"] as? Double else { return nil }
            return (Double(s), loss, record["weighted_loss"] as? Double ?? loss)
        }
    }

    static func format(seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 3600 ? "\(total / 3600)h\(total % 3600 / 60)m" : total >= 60 ? "\(total / 60)m\(total % 60)s"
            : "\(total)s"
    }
}
