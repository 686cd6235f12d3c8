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
        // Both are written in full below (each head writes its P block and its columns of O).
        let probabilities = Tensor(uninitialized: [geometry.batch, heads, geometry.sequence, geometry.sequence])
        let headsOut = Tensor(uninitialized: x.shape)
        keyMask.withOptionalBufferPointer { mask in
            forwardHeads(geometry, qkv: qkvOut, keyMask: mask, probabilities: probabilities, output: headsOut,
                         context.pool)
        }
        let y = proj.forward(headsOut, context)
        return (y, AttentionCache(x: x, qkv: qkvOut, probabilities: probabilities, heads: headsOut))
    }

    /// `attentionHeadForward` for every (b, h), one pool task each: P [B, H, S, S] and the heads' output
    /// [B, S, D] (each head its columns) are written in full. keyMask: [B·S] or nil.
    private func forwardHeads(_ geometry: AttentionGeometry, qkv: Tensor, keyMask: UnsafeBufferPointer<Bool>?,
                              probabilities: Tensor, output: Tensor, _ pool: ThreadPool?) {
        let head = geometry.head, s = geometry.sequence, qkvCount = head.viewCount(head.qkvStride)
        let scratch = PerThreadScratch(pool, floats: head.scratchCount)
        qkv.withUnsafeBufferPointer { qkvBuffer in
            probabilities.withUnsafeMutableBufferPointer { pBuffer in
                output.withUnsafeMutableBufferPointer { oBuffer in
                    scratch.tensor.withUnsafeMutableBufferPointer { scratchBuffer in
                        runPerHead(geometry, pool) { b, h, thread in
                            let view = { (at: Int) in UnsafeBufferPointer(rebasing: qkvBuffer[at..<(at + qkvCount)]) }
                            let p = geometry.pOffset(b, h), o = geometry.oOffset(b, h)
                            attentionHeadForward(
                                q: view(geometry.qOffset(b, h)), k: view(geometry.kOffset(b, h)),
                                v: view(geometry.vOffset(b, h)),
                                keyMask: keyMask.map { UnsafeBufferPointer(rebasing: $0[(b * s)..<((b + 1) * s)]) },
                                probabilities: UnsafeMutableBufferPointer(rebasing: pBuffer[p..<(p + s * s)]),
                                output: UnsafeMutableBufferPointer(
                                    rebasing: oBuffer[o..<(o + head.viewCount(head.outputStride))]),
                                geometry: head, scale: scale, scratch: scratch.slice(scratchBuffer, thread))
                        }
                    }
                }
            }
        }
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

    /// The per-head kernels' view of one (b, h).
    var head: AttentionHeadGeometry {
        AttentionHeadGeometry(sequence: sequence, headWidth: headWidth, qkvStride: qkvStride, outputStride: width)
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

extension Optional where Wrapped == [Bool] {
    /// `body` with the array's buffer, or with nil.
    func withOptionalBufferPointer<R>(_ body: (UnsafeBufferPointer<Bool>?) -> R) -> R {
        switch self {
        case .some(let array): array.withUnsafeBufferPointer { body($0) }
        case .none: body(nil)
        }
    }
}

/// `floats` of scratch for each thread of a pool, each slice starting on a 64-byte boundary (a task
/// overwrites what it uses before reading it).
struct PerThreadScratch {
    let tensor: Tensor
    let stride: Int

    init(_ pool: ThreadPool?, floats: Int) {
        stride = (floats + 15) / 16 * 16
        tensor = Tensor(zeros: [pool?.threadCount ?? 1, stride])
    }

    func slice(_ buffer: UnsafeMutableBufferPointer<Float>, _ thread: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: buffer[(thread * stride)..<((thread + 1) * stride)])
    }
}
