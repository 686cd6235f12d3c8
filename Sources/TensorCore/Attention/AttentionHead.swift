// MARK: - One (sample, head) of multi-head attention, forward and backward
//
// Letters: S tokens (queries = keys), E head width, S₁₆ = S rounded up to a multiple of 16.
//   forward   Z = Q·Kᵀ,  P = softmax(scale·Z over the keys the mask allows),  O = P·V
//   backward  dP = dO·Vᵀ,  dZ = scale·P ⊙ (dP − rowsum(dP ⊙ P)),  dV = Pᵀ·dO,  dQ = dZ·K,  dK = dZᵀ·Q
// Q, K, V (and dQ, dK, dV) are strided row views of the qkv projection [S, 3, H, E] (row stride
// `qkvStride`), O and dO views of the heads' output [S, H, E] (row stride `outputStride`), P is a
// dense S×S block.
//
// Why a kernel of its own and not the products one by one: in the model the operands of one head are
// cold (qkv of a batch is ~13 MB, P ~17 MB) and strided, and the per-product kernel (`attentionGEMM`)
// read them straight from those views: at S = 129, E = 32 the decoder's products ran at half the
// speed they reach on hot data. Here each cold operand is first copied once, in a plain loop that
// keeps many cache misses in flight, into per-thread scratch (K and V transposed and zero-padded to
// S₁₆ columns, so Q·Kᵀ and dO·Vᵀ are NN products with whole vectors and aligned rows), the products
// run on that hot scratch, and the softmax and its backward are single fused passes over padded rows.
// Reference: `attentionHeadForwardReference` / `attentionHeadBackwardReference` (Double, naive).

/// Sizes and strides of one (sample, head): S = `sequence`, E = `headWidth`.
public struct AttentionHeadGeometry: Sendable, Equatable {
    public let sequence: Int
    public let headWidth: Int
    /// Row stride of the Q, K, V views (and of dQ, dK, dV).
    public let qkvStride: Int
    /// Row stride of the O view (and of dO).
    public let outputStride: Int

    public init(sequence: Int, headWidth: Int, qkvStride: Int, outputStride: Int) {
        precondition(sequence > 0 && headWidth > 0, "AttentionHeadGeometry: S \(sequence), E \(headWidth) must be > 0")
        precondition(qkvStride >= headWidth && outputStride >= headWidth,
                     "AttentionHeadGeometry: strides \(qkvStride), \(outputStride) below E = \(headWidth)")
        self.sequence = sequence
        self.headWidth = headWidth
        self.qkvStride = qkvStride
        self.outputStride = outputStride
    }

    /// S₁₆: the padded row length of the score and transposed-operand scratch.
    public var paddedSequence: Int { (sequence + 15) / 16 * 16 }
    /// Floats of scratch `attentionHeadForward` and `attentionHeadBackward` need (each overwrites it).
    public var scratchCount: Int { 3 * sequence * headWidth + headWidth * paddedSequence + sequence * paddedSequence
                                   + paddedSequence + 64 }

    /// Elements a strided S×E view of row stride `stride` spans.
    public func viewCount(_ stride: Int) -> Int { (sequence - 1) * stride + headWidth }
}

// MARK: - Forward

/// P = softmax(scale·Q·Kᵀ) with masked keys at exactly 0, O = P·V (overwrites O).
/// Shapes: q, k, v [S×E] row stride `qkvStride`; keyMask [S] (true = may be attended, one at least)
/// or nil; probabilities [S×S]; output [S×E] row stride `outputStride`; scratch ≥ `scratchCount`.
public func attentionHeadForward(
    q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>,
    keyMask: UnsafeBufferPointer<Bool>?, probabilities: UnsafeMutableBufferPointer<Float>,
    output: UnsafeMutableBufferPointer<Float>, geometry g: AttentionHeadGeometry, scale: Float,
    scratch: UnsafeMutableBufferPointer<Float>
) {
    let s = g.sequence, e = g.headWidth, s16 = g.paddedSequence
    let qkvCount = g.viewCount(g.qkvStride)
    requireCount(q.count, qkvCount, "attentionHeadForward", "q")
    requireCount(k.count, qkvCount, "attentionHeadForward", "k")
    requireCount(v.count, qkvCount, "attentionHeadForward", "v")
    requireCount(probabilities.count, s * s, "attentionHeadForward", "probabilities")
    requireCount(output.count, g.viewCount(g.outputStride), "attentionHeadForward", "output")
    requireCount(scratch.count, g.scratchCount, "attentionHeadForward", "scratch")
    if let keyMask { requireCount(keyMask.count, s, "attentionHeadForward", "keyMask") }
    precondition(scale > 0 && scale.isFinite, "attentionHeadForward: scale must be positive, got \(scale)")
    let area = AttentionScratch(scratch.baseAddress!, g)
    copyRows(q.baseAddress!, g.qkvStride, into: area.q, rows: s, columns: e)
    copyTransposed(k.baseAddress!, g.qkvStride, into: area.transposed, rows: s, columns: e, paddedRows: s16)
    copyRows(v.baseAddress!, g.qkvStride, into: area.v, rows: s, columns: e)
    precondition(fillValidity(keyMask, area.valid, s, s16), "attentionHeadForward: the key mask allows no key")
    // Z = Q·Kᵀ [S×S₁₆] (the padded columns are 0 and masked out below)
    attentionGEMM(.nn, m: s, n: s16, k: e, a: area.view(area.q, s * e), lda: e,
                  b: area.view(area.transposed, e * s16), ldb: s16,
                  c: UnsafeMutableBufferPointer(start: area.scores, count: s * s16), ldc: s16, accumulate: false)
    let p = probabilities.baseAddress!
    for i in 0..<s {
        paddedSoftmaxRow(area.scores + i * s16, p + i * s, area.valid, s, s16, scale)
    }
    // O = P·V
    attentionGEMM(.nn, m: s, n: e, k: s, a: UnsafeBufferPointer(start: p, count: s * s), lda: s,
                  b: area.view(area.v, s * e), ldb: e, c: output, ldc: g.outputStride, accumulate: false)
}

// MARK: - Backward

/// dQ, dK, dV of one head (**overwrites** them) from dO and the forward's P.
/// Shapes: q, k, v, dQ, dK, dV [S×E] row stride `qkvStride`; probabilities [S×S]; dO [S×E] row
/// stride `outputStride`; scratch ≥ `scratchCount`. dQ, dK, dV must not overlap the inputs.
public func attentionHeadBackward(
    q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>,
    probabilities: UnsafeBufferPointer<Float>, dO: UnsafeBufferPointer<Float>,
    dQ: UnsafeMutableBufferPointer<Float>, dK: UnsafeMutableBufferPointer<Float>, dV: UnsafeMutableBufferPointer<Float>,
    geometry g: AttentionHeadGeometry, scale: Float, scratch: UnsafeMutableBufferPointer<Float>
) {
    let s = g.sequence, e = g.headWidth, s16 = g.paddedSequence
    let qkvCount = g.viewCount(g.qkvStride)
    requireCount(q.count, qkvCount, "attentionHeadBackward", "q")
    requireCount(k.count, qkvCount, "attentionHeadBackward", "k")
    requireCount(v.count, qkvCount, "attentionHeadBackward", "v")
    requireCount(dQ.count, qkvCount, "attentionHeadBackward", "dQ")
    requireCount(dK.count, qkvCount, "attentionHeadBackward", "dK")
    requireCount(dV.count, qkvCount, "attentionHeadBackward", "dV")
    requireCount(probabilities.count, s * s, "attentionHeadBackward", "probabilities")
    requireCount(dO.count, g.viewCount(g.outputStride), "attentionHeadBackward", "dO")
    requireCount(scratch.count, g.scratchCount, "attentionHeadBackward", "scratch")
    let area = AttentionScratch(scratch.baseAddress!, g)
    let p = probabilities.baseAddress!, dOCopy = area.v, dZ = area.scores
    copyRows(dO.baseAddress!, g.outputStride, into: dOCopy, rows: s, columns: e)
    copyTransposed(v.baseAddress!, g.qkvStride, into: area.transposed, rows: s, columns: e, paddedRows: s16)
    // dP = dO·Vᵀ [S×S₁₆], then dZ over it in place (P is read in order here, which also warms it for dV)
    attentionGEMM(.nn, m: s, n: s16, k: e, a: area.view(dOCopy, s * e), lda: e,
                  b: area.view(area.transposed, e * s16), ldb: s16,
                  c: UnsafeMutableBufferPointer(start: dZ, count: s * s16), ldc: s16, accumulate: false)
    for i in 0..<s {
        softmaxBackwardRowInPlace(p + i * s, dZ + i * s16, s, scale)
    }
    let pBuffer = UnsafeBufferPointer(start: p, count: s * s), dZBuffer = area.view(dZ, (s - 1) * s16 + s)
    // dV = Pᵀ·dO
    attentionGEMM(.tn, m: s, n: e, k: s, a: pBuffer, lda: s, b: area.view(dOCopy, s * e), ldb: e,
                  c: dV, ldc: g.qkvStride, accumulate: false)
    // dQ = dZ·K;  dK = dZᵀ·Q
    copyRows(k.baseAddress!, g.qkvStride, into: area.q, rows: s, columns: e)
    attentionGEMM(.nn, m: s, n: e, k: s, a: dZBuffer, lda: s16, b: area.view(area.q, s * e), ldb: e,
                  c: dQ, ldc: g.qkvStride, accumulate: false)
    copyRows(q.baseAddress!, g.qkvStride, into: area.q, rows: s, columns: e)
    attentionGEMM(.tn, m: s, n: e, k: s, a: dZBuffer, lda: s16, b: area.view(area.q, s * e), ldb: e,
                  c: dK, ldc: g.qkvStride, accumulate: false)
}

// MARK: - Scratch layout and copies

/// The regions of one call's scratch, each starting on a 16-float boundary of `base` (aligned when
/// `base` is 64-byte aligned): q and v [S×E] dense copies, transposed [E×S₁₆], scores [S×S₁₆],
/// valid [S₁₆].
private struct AttentionScratch {
    let q: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>
    let transposed: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>
    let valid: UnsafeMutablePointer<Float>

    init(_ base: UnsafeMutablePointer<Float>, _ g: AttentionHeadGeometry) {
        let s = g.sequence, e = g.headWidth, s16 = g.paddedSequence
        func rounded(_ n: Int) -> Int { (n + 15) / 16 * 16 }
        q = base
        v = q + rounded(s * e)
        transposed = v + rounded(s * e)
        scores = transposed + e * s16
        valid = scores + s * s16
    }

    func view(_ pointer: UnsafeMutablePointer<Float>, _ count: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: pointer, count: count)
    }
}

/// dst [rows×columns] dense = the strided view src (row stride `ld`).
@inline(__always)
private func copyRows(_ src: UnsafePointer<Float>, _ ld: Int, into dst: UnsafeMutablePointer<Float>,
                      rows: Int, columns: Int) {
    for r in 0..<rows {
        (dst + r &* columns).update(from: src + r &* ld, count: columns)
    }
}

/// dst [columns×paddedRows] = srcᵀ with the columns rows ..< paddedRows set to 0. Contiguous stores; the
/// strided loads revisit the same few cache lines of src, which stay in L1 (faster than scattered stores).
@inline(__always)
private func copyTransposed(_ src: UnsafePointer<Float>, _ ld: Int, into dst: UnsafeMutablePointer<Float>,
                            rows: Int, columns: Int, paddedRows: Int) {
    for c in 0..<columns {
        let out = dst + c &* paddedRows
        for r in 0..<rows { out[r] = src[r &* ld &+ c] }
    }
    if paddedRows > rows {
        for c in 0..<columns { (dst + (c &* paddedRows &+ rows)).initialize(repeating: 0, count: paddedRows &- rows) }
    }
}

/// valid[0 ..< S₁₆] = 1 for the keys that may be attended, 0 for masked keys and the padding.
/// Returns false when no key is valid.
private func fillValidity(_ keyMask: UnsafeBufferPointer<Bool>?, _ valid: UnsafeMutablePointer<Float>,
                          _ s: Int, _ s16: Int) -> Bool {
    var any = false
    for j in 0..<s16 {
        let allowed = j < s && (keyMask.map { $0[j] } ?? true)
        valid[j] = allowed ? 1 : 0
        any = any || allowed
    }
    return any
}

// MARK: - Fused row passes

/// y[0 ..< n] = softmax(scale·x over the keys with valid = 1); x has n16 readable entries (a multiple
/// of 16) and is overwritten with the unnormalised exponentials. Vector loops over whole vectors only.
@inline(__always)
private func paddedSoftmaxRow(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                              _ valid: UnsafePointer<Float>, _ n: Int, _ n16: Int, _ scale: Float) {
    var maxima = SIMD16<Float>(repeating: -.infinity)
    var i = 0
    while i < n16 {
        let v = loadVector(UnsafePointer(x), i).replacing(with: -.infinity, where: loadVector(valid, i) .== 0)
        maxima = lanewiseMax(maxima, v)
        i &+= 16
    }
    let top = horizontalMax(maxima)
    // exp((x − top)·scale) on valid keys, 0 elsewhere, and the row sum, one vector at a time.
    let topVector = SIMD16<Float>(repeating: top), scaleVector = SIMD16<Float>(repeating: scale)
    var sums = SIMD16<Float>()
    i = 0
    while i < n16 {
        let e = expApproximation((loadVector(UnsafePointer(x), i) - topVector) * scaleVector)
        let kept = e.replacing(with: 0, where: loadVector(valid, i) .== 0)
        storeVector(kept, x, i)
        sums += kept
        i &+= 16
    }
    let inverse = 1 / horizontalSum(sums)
    for j in 0..<n { y[j] = x[j] * inverse }
}

/// d[0 ..< n] ← scale·p ⊙ (d − Σ_j d_j·p_j) in place (d: dP in, dZ out).
@inline(__always)
private func softmaxBackwardRowInPlace(_ p: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>,
                                       _ n: Int, _ scale: Float) {
    var dots = SIMD16<Float>()
    var i = 0
    while i &+ 16 <= n {
        dots = dots.addingProduct(loadVector(UnsafePointer(d), i), loadVector(p, i))
        i &+= 16
    }
    var dot = horizontalSum(dots)
    while i < n { dot = dot.addingProduct(d[i], p[i]); i &+= 1 }
    for j in 0..<n { d[j] = (p[j] * scale) * (d[j] - dot) }
}

