import TensorCore

/// What `Attention.backward` needs from the forward: the input x [B, S, D], the qkv projection
/// [B, S, 3D], the attention probabilities P [B, H, S, S] and the heads' output before `proj`
/// [B, S, D].
public struct AttentionCache: Sendable {
    public let x: Tensor
    public let qkv: Tensor
    public let probabilities: Tensor
    public let heads: Tensor
}

/// Multi-head self-attention as timm's ViT `Attention`: qkv = Linear(D, 3D) with the per-token
/// layout [3, H, D/H] (q, k, v; heads inside), per (sample b, head h) O = softmax(scale·Q·Kᵀ
/// over the keys sample b may attend)·V with scale = (D/H)^-½, heads concatenated along the
/// width, then proj = Linear(D, D). Parameters `<name>.qkv.*`, `<name>.proj.*`.
///
/// The per-(b, h) Q, K, V are strided views of the qkv output (row stride 3D) and each head
/// writes its own columns of the output, so the (b, h) pairs run as independent pool tasks and
/// the result is bit-identical for any thread count.
public struct Attention: Sendable {
    public let width: Int
    public let heads: Int
    public let qkv: Linear
    public let proj: Linear

    public var headWidth: Int { width / heads }
    /// The score scale (D/H)^-½.
    public var scale: Float { 1 / Float(headWidth).squareRoot() }

    public init(name: String, width: Int, heads: Int, layout: inout ParameterLayout) {
        precondition(heads > 0 && width % heads == 0,
                     "Attention \(name): width \(width) not divisible by \(heads) heads")
        self.width = width
        self.heads = heads
        qkv = Linear(name: "\(name).qkv", inFeatures: width, outFeatures: 3 * width, layout: &layout)
        proj = Linear(name: "\(name).proj", inFeatures: width, outFeatures: width, layout: &layout)
    }

    // MARK: - Forward

    /// x: [B, S, D]. keyMask: [B·S] (true = the key may be attended; every sample needs one) or nil
    /// for no masking. Masked keys get exactly zero weight. Returns y [B, S, D] and the cache.
    public func forward(_ x: Tensor, keyMask: [Bool]?, _ context: LayerContext) -> (Tensor, AttentionCache) {
        precondition(x.rank == 3 && x.shape[2] == width, "Attention: x has shape \(x.shape), expected [B, S, \(width)]")
        let geometry = AttentionGeometry(batch: x.shape[0], sequence: x.shape[1], width: width, heads: heads)
        if let keyMask {
            let tokens = geometry.batch * geometry.sequence
            precondition(keyMask.count == tokens,
                         "Attention: keyMask has \(keyMask.count) entries, expected B·S = \(tokens)")
            for b in 0..<geometry.batch {
                let sample = keyMask[(b * geometry.sequence)..<((b + 1) * geometry.sequence)]
                precondition(sample.contains(true), "Attention: keyMask of sample \(b) allows no key")
            }
        }
        let qkvOut = qkv.forward(x, context)
        // Both are written in full below (softmax writes every entry, each head its own columns of O).
        let probabilities = Tensor(uninitialized: [geometry.batch, heads, geometry.sequence, geometry.sequence])
        let headsOut = Tensor(uninitialized: x.shape)
        // Raw scores per thread: the softmax reads them and writes P (in place it would not vectorise).
        let scores = perThreadScratch(context.pool, floats: geometry.sequence * geometry.sequence)
        qkvOut.withUnsafeBufferPointer { qkvBuffer in
            probabilities.withUnsafeMutableBufferPointer { pBuffer in
                headsOut.withUnsafeMutableBufferPointer { oBuffer in
                    scores.withUnsafeMutableBufferPointer { scoresBuffer in
                        let pointers = AttentionPointers(qkv: qkvBuffer.baseAddress!, p: pBuffer.baseAddress!,
                                                         o: oBuffer.baseAddress!)
                        let scoresBase = scoresBuffer.baseAddress!, scoresCount = geometry.sequence * geometry.sequence
                        runPerHead(geometry, context.pool) { b, h, thread in
                            forwardHead(geometry, pointers, b: b, h: h, keyMask: keyMask,
                                        scores: scoresBase + thread * scoresCount)
                        }
                    }
                }
            }
        }
        let y = proj.forward(headsOut, context)
        return (y, AttentionCache(x: x, qkv: qkvOut, probabilities: probabilities, heads: headsOut))
    }

    /// One (b, h): P = softmax(scale·Q·Kᵀ, key mask of b), O[:, h·hd ..< (h+1)·hd] = P·V.
    /// `scores` holds S·S floats of scratch.
    private func forwardHead(_ g: AttentionGeometry, _ ptr: AttentionPointers, b: Int, h: Int, keyMask: [Bool]?,
                             scores: UnsafeMutablePointer<Float>) {
        let s = g.sequence, hd = g.headWidth, ld = g.qkvStride
        let q = ptr.qkv + g.qOffset(b, h), k = ptr.qkv + g.kOffset(b, h), v = ptr.qkv + g.vOffset(b, h)
        let p = ptr.p + g.pOffset(b, h), o = ptr.o + g.oOffset(b, h)
        headProduct(.nt, m: s, n: s, k: hd, a: q, lda: ld, b: k, ldb: ld, c: scores, ldc: s, accumulate: false)
        let raw = UnsafeBufferPointer(start: scores, count: s * s)
        let probabilities = UnsafeMutableBufferPointer(start: p, count: s * s)
        if let keyMask {
            keyMask.withUnsafeBufferPointer { mask in
                softmaxForward(raw, into: probabilities, rows: s, columns: s, scale: scale,
                               keyMask: UnsafeBufferPointer(rebasing: mask[(b * s)..<((b + 1) * s)]))
            }
        } else {
            softmaxForward(raw, into: probabilities, rows: s, columns: s, scale: scale)
        }
        headProduct(.nn, m: s, n: hd, k: s, a: p, lda: s, b: v, ldb: ld, c: o, ldc: g.width, accumulate: false)
    }
}

// MARK: - Per-head geometry and products

/// Sizes and offsets of the per-(b, h) views: Q, K, V inside qkv [B, S, 3, H, hd] (row stride 3D),
/// P [B, H, S, S], O inside [B, S, D] at columns h·hd (row stride D).
struct AttentionGeometry {
    let batch: Int, sequence: Int, width: Int, heads: Int

    var headWidth: Int { width / heads }
    var qkvStride: Int { 3 * width }

    func qOffset(_ b: Int, _ h: Int) -> Int { b * sequence * qkvStride + h * headWidth }
    func kOffset(_ b: Int, _ h: Int) -> Int { qOffset(b, h) + width }
    func vOffset(_ b: Int, _ h: Int) -> Int { qOffset(b, h) + 2 * width }
    func oOffset(_ b: Int, _ h: Int) -> Int { b * sequence * width + h * headWidth }
    func pOffset(_ b: Int, _ h: Int) -> Int { (b * heads + h) * sequence * sequence }
}

/// Base pointers of the buffers one attention pass reads and writes (valid inside the closures
/// that produced them).
struct AttentionPointers {
    let qkv: UnsafeMutablePointer<Float>
    let p: UnsafeMutablePointer<Float>
    let o: UnsafeMutablePointer<Float>

    init(qkv: UnsafePointer<Float>, p: UnsafeMutablePointer<Float>, o: UnsafeMutablePointer<Float>) {
        self.qkv = UnsafeMutablePointer(mutating: qkv)
        self.p = p
        self.o = o
    }

    init(qkv: UnsafeMutablePointer<Float>, p: UnsafePointer<Float>, o: UnsafePointer<Float>) {
        self.qkv = qkv
        self.p = UnsafeMutablePointer(mutating: p)
        self.o = UnsafeMutablePointer(mutating: o)
    }
}

/// Runs `body(b, h, thread)` for every (sample, head) pair as one pool task each (outputs are
/// disjoint); `thread` indexes per-thread scratch.
func runPerHead(_ g: AttentionGeometry, _ pool: ThreadPool?, _ body: (_ b: Int, _ h: Int, _ thread: Int) -> Void) {
    let tasks = g.batch * g.heads
    if let pool {
        pool.parallelFor(tasks) { task, thread in body(task / g.heads, task % g.heads, thread) }
    } else {
        for task in 0..<tasks { body(task / g.heads, task % g.heads, 0) }
    }
}

/// `floats` of scratch for each thread of `pool` (a task overwrites what it uses before reading it).
func perThreadScratch(_ pool: ThreadPool?, floats: Int) -> Tensor {
    Tensor(zeros: [pool?.threadCount ?? 1, floats])
}

/// One per-head matrix product, single-threaded, C = op(A)·op(B) (+ C), on raw strided pointers
/// (`gemm`'s layouts and arguments), by the unpacked `attentionGEMM` (faster than the packed GEMM
/// on these small shapes; the caller's task already owns the whole product).
@inline(__always)
func headProduct(_ layout: GEMMLayout, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                 b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    let aRows = layout == .tn ? k : m, aCols = layout == .tn ? m : k
    let bRows = layout == .nt ? n : k, bCols = layout == .nt ? k : n
    attentionGEMM(layout, m: m, n: n, k: k,
                  a: UnsafeBufferPointer(start: a, count: (aRows - 1) * lda + aCols), lda: lda,
                  b: UnsafeBufferPointer(start: b, count: (bRows - 1) * ldb + bCols), ldb: ldb,
                  c: UnsafeMutableBufferPointer(start: c, count: (m - 1) * ldc + n), ldc: ldc,
                  accumulate: accumulate)
}
