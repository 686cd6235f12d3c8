import TensorCore
import Comm
import Foundation
import Training

// MARK: - Real gradient magnitudes for the fixed-point scale (FixedPointFormat docs)

/// Trains a few steps of the CPU preset and prints, per step, the distribution of |gradient| (log2
/// histogram), the largest element, and what the standard fixed-point format does to that gradient.
/// The gradient after a step is the sum of the virtual shards' contributions (each scaled by its share of
/// the masked pixels, about 1/V), so one shard's contribution is roughly V times smaller in magnitude.
func gradientStats(_ args: ArraySlice<String>) throws -> Int32 {
    var config = TrainingConfig()
    var steps = 3
    var i = args.startIndex
    while i < args.endIndex {
        let value = i + 1 < args.endIndex ? args[i + 1] : ""
        switch args[i] {
        case "--source": config.sources = [value]
        case "--steps": steps = Int(value) ?? steps
        case "--threads": config.threads = Int(value) ?? 0
        default: throw UsageError("unknown option \(args[i])")
        }
        i += 2
    }
    config.steps = steps
    config.pictureEvery = 0
    let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("ringpeer-grad-\(getpid())")
    defer { try? FileManager.default.removeItem(at: directory) }
    let trainer = try Trainer(config: config, runDirectory: directory)
    let format = FixedPointFormat.standard
    print("gradient-stats: CPU preset, batch \(config.batchSize), \(config.virtualShards) virtual shards, "
          + "\(trainer.arena.gradients.count) gradient elements, format \(format)")
    for _ in 0..<steps {
        let report = try trainer.trainStep()
        trainer.arena.gradients.withUnsafeBufferPointer { g in
            describe(g, step: report.step, loss: report.loss, format: format, shards: config.virtualShards)
        }
    }
    return 0
}

private func describe(_ g: UnsafeBufferPointer<Float>, step: Int, loss: Double, format: FixedPointFormat,
                      shards: Int) {
    var histogram: [Int: Int] = [:]
    var zeros = 0, largest: Float = 0
    var errorSquares = 0.0, normSquares = 0.0, worstError = 0.0
    for x in g {
        guard x != 0 else { zeros += 1; continue }
        histogram[Int(x.magnitude.exponent), default: 0] += 1
        largest = max(largest, x.magnitude)
        // What one shard's contribution (about x / V) loses in the round trip through fixed point.
        let part = x / Float(shards)
        let fixed = Int64((part * format.scale).rounded(.toNearestOrEven))
        let back = Double(Float(fixed) * format.inverseScale)
        let error = abs(back - Double(part))
        errorSquares += error * error
        normSquares += Double(part) * Double(part)
        worstError = max(worstError, error)
    }
    let nonzero = g.count - zeros
    let sortedMagnitudes = g.filter { $0 != 0 }.map(\.magnitude).sorted()
    let median = sortedMagnitudes.isEmpty ? 0 : sortedMagnitudes[sortedMagnitudes.count / 2]
    let below40 = histogram.filter { $0.key < -40 }.values.reduce(0, +)
    let below17 = histogram.filter { $0.key < -17 }.values.reduce(0, +)
    print(String(format: "step %d loss %.4f: nonzero %d/%d, max |g| %.3e (2^%d), median %.3e, "
                 + "|g| < 2^-17 (loses bits): %.4f%%, |g| < 2^-40: %.6f%%",
                 step, loss, nonzero, g.count, largest, Int(largest.exponent), median,
                 100 * Double(below17) / Double(max(nonzero, 1)), 100 * Double(below40) / Double(max(nonzero, 1))))
    print(String(format: "  per-shard contribution (g/%d) through 2^%d fixed point: relative L2 error %.3e, "
                 + "worst absolute error %.3e (= %.2e x AdamW eps 1e-8)",
                 shards, format.fractionBits, (errorSquares / max(normSquares, 1e-300)).squareRoot(), worstError,
                 worstError / 1e-8))
    let line = histogram.keys.sorted().map { "2^\($0):\(histogram[$0]!)" }.joined(separator: " ")
    print("  log2 histogram of |g|: \(line)")
}
