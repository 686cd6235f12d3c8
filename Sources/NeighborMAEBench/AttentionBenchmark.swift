import ArgumentParser
import Foundation
import TensorCore

/// `neighbormae-bench attention`: the per-head attention core (Q·Kᵀ, masked softmax, P·V and the backward
/// products) over a whole batch on the CPU preset's encoder and decoder shapes, 1 thread: the fused
/// `attentionHeadForward` / `attentionHeadBackward` against the same work done product by product
/// (`attentionGEMM` on the strided views plus `softmaxForward` / `softmaxBackward`, the layer's code
/// before the fused kernel), interleaved trials on the same data.
struct AttentionBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "GFLOP/s of the fused per-head attention kernel vs the product-by-product path.")

    @Option(help: "Interleaved trials per path (best and median paired ratio are reported).")
    var trials: Int = 7

    @Option(help: "Samples per batch (pairs of the CPU preset).")
    var batch: Int = 64

    func run() throws {
        print("# attention core, 1 thread (thread CPU time), B = \(batch); "
              + "GFLOP/s = 3 · 2·(2·S²·E) · B·H / s (fwd + bwd);"
              + " best of \(trials) interleaved trials; paired = median of composed time / fused time")
        print("shape                         path       fwd ms   bwd ms  GFLOP/s  paired  max|diff| (P, O, dQKV)")
        let shapes = [
            AttentionShape(label: "encoder S=33 E=64 H=3", batch: batch, heads: 3, sequence: 33, headWidth: 64),
            AttentionShape(label: "decoder S=129 E=32 H=4", batch: batch, heads: 4, sequence: 129, headWidth: 32),
        ]
        for shape in shapes {
            try measure(shape)
        }
    }

    private func measure(_ shape: AttentionShape) throws {
        let fused = AttentionRun(shape, fused: true), composed = AttentionRun(shape, fused: false)
        var times: [(fused: (Double, Double), composed: (Double, Double))] = []
        for _ in 0...trials {     // the first round is a warm-up
            times.append((fused.timed(), composed.timed()))
        }
        times.removeFirst()
        let differences = fused.maxDifferences(composed)
        for (name, pick) in [("fused", { (t: (fused: (Double, Double), composed: (Double, Double))) in t.fused }),
                             ("composed", { $0.composed })] {
            let forward = times.map { pick($0).0 }.min()!, backward = times.map { pick($0).1 }.min()!
            let paired = times.map { ($0.composed.0 + $0.composed.1) / ($0.fused.0 + $0.fused.1) }.sorted()
            print(String(format: "%-29@ %-8@ %8.2f %8.2f %8.1f  %6@  %@", shape.label, name, forward * 1e3,
                         backward * 1e3, shape.flops / (forward + backward) / 1e9,
                         name == "fused" ? String(format: "%.2fx", paired[paired.count / 2]) : "",
                         name == "fused" ? differences.map { String(format: "%.1e", $0) }.joined(separator: ", ") : ""))
        }
        guard differences.allSatisfy({ $0 < 1e-4 }) else {
            throw ValidationError("fused and composed attention disagree on \(shape.label): \(differences)")
        }
    }
}

/// One benchmark shape: B samples, H heads of width E over S tokens; every sample masks its last quarter
/// of keys (the encoder's key mask), the decoder runs unmasked.
struct AttentionShape {
    let label: String
    let batch: Int, heads: Int, sequence: Int, headWidth: Int

    var width: Int { heads * headWidth }
    var masked: Bool { sequence < 64 }
    /// Forward + backward products: 2 forward, 4 backward, each 2·S²·E per (b, h).
    var flops: Double { 6 * 2 * Double(sequence * sequence * headWidth) * Double(batch * heads) }
}

/// The buffers of one path (same data for both paths) and its timed forward and backward.
private final class AttentionRun {
    let shape: AttentionShape, fused: Bool
    let qkv: Tensor, dO: Tensor, p: Tensor, o: Tensor, dqkv: Tensor, scratch: Tensor
    let mask: [Bool]
    let geometry: AttentionHeadGeometry

    init(_ shape: AttentionShape, fused: Bool) {
        self.shape = shape
        self.fused = fused
        let (b, s, w) = (shape.batch, shape.sequence, shape.width)
        qkv = Tensor(zeros: [b, s, 3 * w])
        dO = Tensor(zeros: [b, s, w])
        var stream = CounterRNG(seed: 5).stream(1)
        qkv.withUnsafeMutableBufferPointer { stream.fillNormal($0) }
        dO.withUnsafeMutableBufferPointer { stream.fillNormal($0) }
        p = Tensor(zeros: [b, shape.heads, s, s])
        o = Tensor(zeros: [b, s, w])
        dqkv = Tensor(zeros: [b, s, 3 * w])
        geometry = AttentionHeadGeometry(sequence: s, headWidth: shape.headWidth, qkvStride: 3 * w, outputStride: w)
        scratch = Tensor(zeros: [max(geometry.scratchCount, 2 * s * s)])
        mask = (0..<(b * s)).map { !shape.masked || $0 % s < s - s / 4 }
    }

    /// (forward, backward) seconds of one pass over all (b, h).
    func timed() -> (Double, Double) {
        let start = threadCPUNanoseconds()
        forward()
        let middle = threadCPUNanoseconds()
        backward()
        let end = threadCPUNanoseconds()
        return (Double(middle - start) / 1e9, Double(end - middle) / 1e9)
    }

    /// max |difference| of P, O and dQKV against another run.
    func maxDifferences(_ other: AttentionRun) -> [Float] {
        [(p, other.p), (o, other.o), (dqkv, other.dqkv)].map { pair in
            zip(pair.0.scalars, pair.1.scalars).map { abs($0 - $1) }.max() ?? 0
        }
    }

    private var scale: Float { 1 / Float(shape.headWidth).squareRoot() }

    private func offsets(_ b: Int, _ h: Int) -> (q: Int, k: Int, v: Int, o: Int, p: Int) {
        let s = shape.sequence, w = shape.width, e = shape.headWidth
        let q = b * s * 3 * w + h * e
        return (q, q + w, q + 2 * w, b * s * w + h * e, (b * shape.heads + h) * s * s)
    }

    private func forward() {
        let s = shape.sequence, e = shape.headWidth, g = geometry
        qkv.withUnsafeBufferPointer { x in p.withUnsafeMutableBufferPointer { pb in
        o.withUnsafeMutableBufferPointer { ob in
        scratch.withUnsafeMutableBufferPointer { work in mask.withUnsafeBufferPointer { maskBuffer in
            for b in 0..<shape.batch {
                let keyMask = shape.masked ? UnsafeBufferPointer(rebasing: maskBuffer[(b * s)..<((b + 1) * s)]) : nil
                for h in 0..<shape.heads {
                    let at = offsets(b, h)
                    func view(_ offset: Int) -> UnsafeBufferPointer<Float> {
                        UnsafeBufferPointer(rebasing: x[offset..<(offset + g.viewCount(g.qkvStride))])
                    }
                    let pHead = UnsafeMutableBufferPointer(rebasing: pb[at.p..<(at.p + s * s)])
                    let oHead = UnsafeMutableBufferPointer(rebasing: ob[at.o..<(at.o + g.viewCount(g.outputStride))])
                    if fused {
                        attentionHeadForward(q: view(at.q), k: view(at.k), v: view(at.v), keyMask: keyMask,
                                             probabilities: pHead, output: oHead, geometry: g, scale: scale,
                                             scratch: work)
                        continue
                    }
                    let scores = UnsafeMutableBufferPointer(rebasing: work[0..<(s * s)])
                    attentionGEMM(.nt, m: s, n: s, k: e, a: view(at.q), lda: g.qkvStride, b: view(at.k),
                                  ldb: g.qkvStride, c: scores, ldc: s, accumulate: false)
                    softmaxForward(UnsafeBufferPointer(scores), into: pHead, rows: s, columns: s, scale: scale,
                                   keyMask: keyMask)
                    attentionGEMM(.nn, m: s, n: e, k: s, a: UnsafeBufferPointer(pHead), lda: s, b: view(at.v),
                                  ldb: g.qkvStride, c: oHead, ldc: g.outputStride, accumulate: false)
                }
            }
        } } } } }
    }

    private func backward() {
        let s = shape.sequence, e = shape.headWidth, g = geometry
        qkv.withUnsafeBufferPointer { x in p.withUnsafeBufferPointer { pb in dO.withUnsafeBufferPointer { gb in
        dqkv.withUnsafeMutableBufferPointer { db in scratch.withUnsafeMutableBufferPointer { work in
            let count = g.viewCount(g.qkvStride)
            for b in 0..<shape.batch {
                for h in 0..<shape.heads {
                    let at = offsets(b, h)
                    func view(_ offset: Int) -> UnsafeBufferPointer<Float> {
                        UnsafeBufferPointer(rebasing: x[offset..<(offset + count)])
                    }
                    func gradient(_ offset: Int) -> UnsafeMutableBufferPointer<Float> {
                        UnsafeMutableBufferPointer(rebasing: db[offset..<(offset + count)])
                    }
                    let pHead = UnsafeBufferPointer(rebasing: pb[at.p..<(at.p + s * s)])
                    let dOHead = UnsafeBufferPointer(rebasing: gb[at.o..<(at.o + g.viewCount(g.outputStride))])
                    if fused {
                        attentionHeadBackward(q: view(at.q), k: view(at.k), v: view(at.v), probabilities: pHead,
                                              dO: dOHead, dQ: gradient(at.q), dK: gradient(at.k), dV: gradient(at.v),
                                              geometry: g, scale: scale, scratch: work)
                        continue
                    }
                    let dP = UnsafeMutableBufferPointer(rebasing: work[0..<(s * s)])
                    let dZ = UnsafeMutableBufferPointer(rebasing: work[(s * s)..<(2 * s * s)])
                    attentionGEMM(.nt, m: s, n: s, k: e, a: dOHead, lda: g.outputStride, b: view(at.v),
                                  ldb: g.qkvStride, c: dP, ldc: s, accumulate: false)
                    attentionGEMM(.tn, m: s, n: e, k: s, a: pHead, lda: s, b: dOHead, ldb: g.outputStride,
                                  c: gradient(at.v), ldc: g.qkvStride, accumulate: false)
                    dZ.update(repeating: 0)
                    softmaxBackward(pHead, dY: UnsafeBufferPointer(dP), dX: dZ, rows: s, columns: s, scale: scale)
                    attentionGEMM(.nn, m: s, n: e, k: s, a: UnsafeBufferPointer(dZ), lda: s, b: view(at.k),
                                  ldb: g.qkvStride, c: gradient(at.q), ldc: g.qkvStride, accumulate: false)
                    attentionGEMM(.tn, m: s, n: e, k: s, a: UnsafeBufferPointer(dZ), lda: s, b: view(at.q),
                                  ldb: g.qkvStride, c: gradient(at.k), ldc: g.qkvStride, accumulate: false)
                }
            }
        } } } } }
    }
}

/// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID): on a shared machine it leaves out the time
/// other processes hold the core, which wall-clock time of a 1-thread run would include.
func threadCPUNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
