import ArgumentParser
import Foundation
import NN
import NeighborMAE
import TensorCore

/// `neighbormae-bench step`: one NeighborMAE training step of the CPU preset (zero gradients, forward
/// with cross-projection and weighted loss, backward, AdamW), timed at each thread count; the peer is
/// `scripts/bench/torch_step.py` (PyTorch CPU, same model, batch and masks), interleaved by
/// `scripts/bench/train-step`. Prints one JSON line per thread count.
struct StepBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step", abstract: "ms/step and pairs/s of one NeighborMAE training step (CPU preset).")

    @Option(help: "Comma-separated thread counts.")
    var threads: String = "1,2"

    @Option(help: "Pairs per step (B; 2B images). Ignored with --geometry (the file sets it).")
    var pairs = 64

    @Option(help: "Batch geometry JSON (boxes, visible counts, ids_shuffle) from torch_step.py --write-geometry.")
    var geometry: String?

    @Option(help: "Untimed warm-up steps per thread count.")
    var warmup = 2

    @Option(help: "Timed steps per thread count (the median is reported).")
    var steps = 10

    @Option(help: "PyTorch's FlopCounterMode count for the same step, printed beside ours.")
    var torchFlops: Double?

    @Option(help: "Seed of the images and parameters.")
    var seed: UInt64 = 2026

    @Flag(help: "Also print a per-phase breakdown (whole-step phases plus standalone encoder/decoder blocks).")
    var profile = false

    func run() throws {
        let threadCounts = threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !threadCounts.isEmpty, threadCounts.allSatisfy({ $0 >= 1 }), steps >= 1, warmup >= 0 else {
            throw ValidationError("--threads takes positive integers such as 1,2; --steps >= 1; --warmup >= 0")
        }
        let config = ModelConfig.cpu
        let shape = try geometry.map { try StepGeometry.load(path: $0, config: config) }
            ?? StepGeometry.synthetic(pairs: pairs, config: config, seed: seed)
        let batch = shape.batch(config: config, seed: seed)
        let flops = StepFLOPs(config: config, pairs: shape.pairs)
        printHeader(shape, flops: flops)
        for threadCount in threadCounts {
            let pool = ThreadPool(threadCount: threadCount)
            let runner = StepRunner(config: config, batch: batch, pool: pool, seed: seed)
            for _ in 0..<warmup { _ = runner.step() }
            var cpuSeconds: [Double] = []
            let phases = (0..<steps).map { _ in
                let start = processCPUNanoseconds()
                defer { cpuSeconds.append(Double(processCPUNanoseconds() - start) / 1e9) }
                return runner.step()
            }
            let median = StepPhases.median(phases.map(\.total)), best = phases.map(\.total).min()!
            let rate = flops.total / median / 1e9
            printJSON([
                "impl": "ours", "threads": threadCount, "ms_per_step": round2(median * 1e3),
                "best_ms": round2(best * 1e3), "cpu_ms_per_step": round2(StepPhases.median(cpuSeconds) * 1e3),
                "pairs_per_s": round2(Double(shape.pairs) / median), "steps": steps,
                "flops_per_step": flops.total, "gflop_per_s": round2(rate),
                "peak_pct": round2(100 * rate / (StepFLOPs.corePeakGFLOPs * Double(threadCount))),
            ])
            if profile {
                StepProfile(config: config, batch: batch, pool: pool, flops: flops).report(phases)
            }
        }
    }

    private func printHeader(_ shape: StepGeometry, flops: StepFLOPs) {
        let counts = shape.visibleCounts.map { $0[0] }
        var header: [String: Any] = [
            "impl": "ours", "pairs": shape.pairs, "geometry": geometry == nil ? "synthetic" : "file",
            "visible_min": counts.min()!, "visible_max": counts.max()!,
            "visible_mean": round2(Double(counts.reduce(0, +)) / Double(counts.count)),
            "flops_per_step": flops.total, "flops_forward": flops.forward, "flops_backward": flops.backward,
            "flops_attention_products": flops.attention, "flops_linears": flops.total - flops.attention,
        ]
        #if TENSORCORE_AVX512
        header["build"] = "AVX-512"
        #else
        header["build"] = "AVX2"
        #endif
        if let torchFlops {
            header["torch_flops_per_step"] = torchFlops
            // torch 2.13's FlopCounterMode counts aten.mm only: the CPU flash-attention op is not registered.
            header["ours_linears_over_torch_flops"] = (flops.total - flops.attention) / torchFlops
        }
        printJSON(header)
    }
}

// MARK: - One timed step

/// Seconds spent in each phase of one step.
/// CPU time of the whole process (all threads). At 1 thread the median CPU ms per step leaves out the
/// time other processes hold the core, so A/B runs on the shared machine compare it rather than wall time.
func processCPUNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

struct StepPhases {
    var zero = 0.0, forward = 0.0, backward = 0.0, adamW = 0.0
    var total: Double { zero + forward + backward + adamW }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

/// The model, its arena and one fixed batch; `step()` does exactly what `Trainer.trainStep` does for a
/// single virtual shard (without data loading and logging).
final class StepRunner {
    let model: NeighborMAEModel
    let arena: ParameterArena
    let batch: ModelBatch
    let context: LayerContext
    private var stepIndex = 0

    init(config: ModelConfig, batch: ModelBatch, pool: ThreadPool, seed: UInt64) {
        model = NeighborMAEModel(config: config)
        arena = ParameterArena(layout: model.layout, seed: seed)
        self.batch = batch
        context = LayerContext(arena: arena, pool: pool)
    }

    func step() -> StepPhases {
        var phases = StepPhases()
        var clock = DispatchTime.now()
        func lap() -> Double {
            let now = DispatchTime.now()
            defer { clock = now }
            return Double(now.uptimeNanoseconds - clock.uptimeNanoseconds) / 1e9
        }
        arena.zeroGradients()
        phases.zero = lap()
        let forward = model.forward(batch, context)
        phases.forward = lap()
        model.backward(forward, objective: .weighted, scale: 1, context)
        phases.backward = lap()
        stepIndex += 1
        adamWStep(arena, config: AdamWConfig(), learningRate: 1.5e-4, step: stepIndex, pool: context.pool)
        phases.adamW = lap()
        precondition(forward.loss.weighted.isFinite, "StepRunner: non-finite loss")
        return phases
    }
}

// MARK: - Output

func round2(_ value: Double) -> Double { (value * 100).rounded() / 100 }

/// One JSON object per line, keys sorted.
func printJSON(_ object: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
    fflush(nil)
}
