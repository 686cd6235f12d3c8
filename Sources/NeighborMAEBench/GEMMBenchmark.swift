import ArgumentParser
import COpenBLAS
import Foundation
import TensorCore

/// `neighbormae-bench gemm`: our `gemm` against OpenBLAS `cblas_sgemm`, interleaved in one run.
struct GEMMBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "GFLOP/s of TensorCore gemm vs OpenBLAS cblas_sgemm on square and transformer shapes.")

    @Option(help: "Comma-separated thread counts.")
    var threads: String = "1,2"

    @Option(help: "Timed trials per implementation and shape (default 5; 2 with --quick).")
    var trials: Int?

    @Flag(help: "Fewer and shorter trials (a smoke run).")
    var quick = false

    @Flag(help: "Print a markdown table (for docs/BENCHMARKS.md).")
    var markdown = false

    @Option(help: "Only shapes whose label contains this text (e.g. 4096x192x768).")
    var filter: String?

    @Flag(help: "Also time small attention-sized problems (per-head Q·Kᵀ and A·V).")
    var small = false

    func run() throws {
        let threadCounts = threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !threadCounts.isEmpty, threadCounts.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--threads takes positive integers such as 1,2")
        }
        let timing = Timing(trials: max(1, trials ?? (quick ? 2 : 5)), minimumSeconds: quick ? 0.05 : 0.2)
        let shapes = (GEMMShape.all + (small ? GEMMShape.small : []))
            .filter { filter == nil || $0.label.contains(filter!) }
        printHeader(timing)
        var rows: [GEMMResult] = []
        for threadCount in threadCounts {
            openblas_set_num_threads(Int32(threadCount))
            let pool = ThreadPool(threadCount: threadCount)
            for shape in shapes {
                let result = measure(shape, pool: pool, timing: timing)
                rows.append(result)
                if !markdown { print(result.textRow) }
            }
        }
        if markdown { printMarkdown(rows) }
        let wrong = rows.filter { !$0.agrees }
        if !wrong.isEmpty {
            let names = wrong.map { "\($0.shape.label) \($0.shape.layout) \($0.threads)T" }
            throw ValidationError("ours and OpenBLAS disagree on \(names)")
        }
    }

    private func printHeader(_ timing: Timing) {
        #if TENSORCORE_AVX512
        let kernel = "AVX-512 build (8×32 tile)"
        #else
        let kernel = "AVX2 build (6×16 tile)"
        #endif
        let core = String(cString: openblas_get_corename())
        print("# gemm benchmark: ours = TensorCore \(kernel); peer = OpenBLAS \(core)")
        print("# best of \(timing.trials) interleaved trials of >= \(timing.minimumSeconds) s each; "
            + "GFLOP/s = 2·M·N·K / s; ratio (best) = best ours / best OpenBLAS; "
            + "ratio (paired) = median over trials of ours / OpenBLAS timed back to back")
        if !markdown {
            print(GEMMResult.textHeader)
        }
    }

    private func printMarkdown(_ rows: [GEMMResult]) {
        print("| shape M×N×K | layout | threads | ours GFLOP/s | OpenBLAS GFLOP/s | ratio (best) "
            + "| ratio (median paired) | max abs diff |")
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        for row in rows { print(row.markdownRow) }
    }
}

// MARK: - Shapes and measurement

struct GEMMShape {
    let m: Int, n: Int, k: Int
    let layout: GEMMLayout

    var label: String { "\(m)x\(n)x\(k)" }
    var flops: Double { 2 * Double(m) * Double(n) * Double(k) }

    /// Square NN problems, then the transformer shapes (M = 4096 tokens) in all three layouts.
    static let all: [GEMMShape] = {
        var shapes = [256, 512, 1024].map { GEMMShape(m: $0, n: $0, k: $0, layout: .nn) }
        for layout in GEMMLayout.allCases {
            for (k, n) in [(192, 192), (192, 576), (192, 768), (768, 192)] {
                shapes.append(GEMMShape(m: 4096, n: n, k: k, layout: layout))
            }
        }
        return shapes
    }()

    /// Attention-sized problems: encoder (17 tokens) and decoder (65 tokens) per-head products.
    static let small: [GEMMShape] = [
        GEMMShape(m: 64, n: 64, k: 64, layout: .nn), GEMMShape(m: 128, n: 128, k: 128, layout: .nn),
        GEMMShape(m: 17, n: 17, k: 64, layout: .nt), GEMMShape(m: 17, n: 64, k: 17, layout: .nn),
        GEMMShape(m: 65, n: 65, k: 32, layout: .nt), GEMMShape(m: 65, n: 32, k: 65, layout: .nn),
    ]

    /// Stored (rows, cols) of A and B: TN stores A as K×M, NT stores B as N×K.
    var storedA: (Int, Int) { layout == .tn ? (k, m) : (m, k) }
    var storedB: (Int, Int) { layout == .nt ? (n, k) : (k, n) }
}

struct Timing {
    let trials: Int
    let minimumSeconds: Double
}

struct GEMMResult {
    let shape: GEMMShape
    let threads: Int
    let ours: Double
    let blas: Double
    /// Median over trials of ours/OpenBLAS timed back to back: robust when the machine's load changes.
    let medianPairedRatio: Double
    let maxAbsDiff: Float

    /// Inputs are in [-0.5, 0.5), so a dot product's rounding error stays far below 1e-6 · K;
    /// anything larger means one of the two computed something else.
    var agrees: Bool { maxAbsDiff <= 1e-6 * Float(max(shape.k, 1)) }

    static let textHeader =
        "shape M×N×K       layout threads  ours GF/s  OpenBLAS GF/s  ratio(best)  ratio(paired)  max|diff|"

    var textRow: String {
        String(format: "%-17@ %-6@ %7d %10.1f %14.1f %12.3f %14.3f %10.1e", shape.label, "\(shape.layout)",
               threads, ours, blas, ours / blas, medianPairedRatio, maxAbsDiff)
    }

    var markdownRow: String {
        String(format: "| %@ | %@ | %d | %.1f | %.1f | %.3f | %.3f | %.1e |", shape.label, "\(shape.layout)",
               threads, ours, blas, ours / blas, medianPairedRatio, maxAbsDiff)
    }
}

/// Times ours and OpenBLAS alternately (warm-up, then `trials` rounds) and keeps each one's best.
func measure(_ shape: GEMMShape, pool: ThreadPool, timing: Timing) -> GEMMResult {
    let a = randomMatrix(shape.storedA.0 * shape.storedA.1, seed: 1)
    let b = randomMatrix(shape.storedB.0 * shape.storedB.1, seed: 2)
    var cOurs = [Float](repeating: 0, count: shape.m * shape.n)
    var cBlas = cOurs
    let ours = { runOurs(shape, a, b, &cOurs, pool) }
    let blas = { runBLAS(shape, a, b, &cBlas) }
    ours()
    blas()
    let diff = zip(cOurs, cBlas).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
    var bestOurs = 0.0, bestBlas = 0.0, pairedRatios: [Double] = []
    for _ in 0..<timing.trials {
        let oursRate = shape.flops / secondsPerCall(timing.minimumSeconds, ours) / 1e9
        let blasRate = shape.flops / secondsPerCall(timing.minimumSeconds, blas) / 1e9
        bestOurs = max(bestOurs, oursRate)
        bestBlas = max(bestBlas, blasRate)
        pairedRatios.append(oursRate / blasRate)
    }
    pairedRatios.sort()
    return GEMMResult(shape: shape, threads: pool.threadCount, ours: bestOurs, blas: bestBlas,
                      medianPairedRatio: pairedRatios[pairedRatios.count / 2], maxAbsDiff: diff)
}

private func runOurs(_ shape: GEMMShape, _ a: [Float], _ b: [Float], _ c: inout [Float], _ pool: ThreadPool) {
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                gemm(shape.layout, m: shape.m, n: shape.n, k: shape.k, a: a, lda: shape.storedA.1,
                     b: b, ldb: shape.storedB.1, c: c, ldc: shape.n, accumulate: false, pool: pool)
            }
        }
    }
}

private func runBLAS(_ shape: GEMMShape, _ a: [Float], _ b: [Float], _ c: inout [Float]) {
    let transA = shape.layout == .tn ? CblasTrans : CblasNoTrans
    let transB = shape.layout == .nt ? CblasTrans : CblasNoTrans
    cblas_sgemm(CblasRowMajor, transA, transB, Int32(shape.m), Int32(shape.n), Int32(shape.k), 1,
                a, Int32(shape.storedA.1), b, Int32(shape.storedB.1), 0, &c, Int32(shape.n))
}

/// Seconds per call of `body`, repeated until at least `minimumSeconds` have passed.
private func secondsPerCall(_ minimumSeconds: Double, _ body: () -> Void) -> Double {
    var calls = 0
    let start = DispatchTime.now().uptimeNanoseconds
    var elapsed = 0.0
    repeat {
        body()
        calls += 1
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    } while elapsed < minimumSeconds
    return elapsed / Double(calls)
}

private func randomMatrix(_ count: Int, seed: UInt64) -> [Float] {
    var stream = CounterRNG(seed: seed).stream(7)
    return (0..<count).map { _ in stream.nextUniform() - 0.5 }
}
