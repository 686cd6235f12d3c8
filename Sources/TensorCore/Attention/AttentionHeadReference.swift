import Foundation

// MARK: - Naive references of `attentionHeadForward` / `attentionHeadBackward`
//
// Plain loops in Double with libm exp, on the same strided views and with the same semantics
// (overwriting outputs, masked keys at exactly 0, scale inside the softmax). No scratch.

/// Reference of `attentionHeadForward`. Shapes as there.
public func attentionHeadForwardReference(
    q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>,
    keyMask: UnsafeBufferPointer<Bool>?, probabilities: UnsafeMutableBufferPointer<Float>,
    output: UnsafeMutableBufferPointer<Float>, geometry g: AttentionHeadGeometry, scale: Float
) {
    let s = g.sequence, e = g.headWidth, ld = g.qkvStride
    for i in 0..<s {
        var scores = [Double](repeating: -.infinity, count: s)
        for j in 0..<s where keyMask?[j] ?? true {
            var dot = 0.0
            for c in 0..<e { dot += Double(q[i * ld + c]) * Double(k[j * ld + c]) }
            scores[j] = Double(scale) * dot
        }
        let top = scores.max()!
        precondition(top > -.infinity, "attentionHeadForwardReference: the key mask allows no key")
        let exps = scores.map { $0 == -.infinity ? 0 : exp($0 - top) }
        let total = exps.reduce(0, +)
        for j in 0..<s { probabilities[i * s + j] = Float(exps[j] / total) }
    }
    for i in 0..<s {
        for c in 0..<e {
            var sum = 0.0
            for j in 0..<s { sum += Double(probabilities[i * s + j]) * Double(v[j * ld + c]) }
            output[i * g.outputStride + c] = Float(sum)
        }
    }
}

/// Reference of `attentionHeadBackward` (overwrites dQ, dK, dV). Shapes as there.
public func attentionHeadBackwardReference(
    q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>,
    probabilities: UnsafeBufferPointer<Float>, dO: UnsafeBufferPointer<Float>,
    dQ: UnsafeMutableBufferPointer<Float>, dK: UnsafeMutableBufferPointer<Float>, dV: UnsafeMutableBufferPointer<Float>,
    geometry g: AttentionHeadGeometry, scale: Float
) {
    let s = g.sequence, e = g.headWidth, ld = g.qkvStride, ldo = g.outputStride
    func p(_ i: Int, _ j: Int) -> Double { Double(probabilities[i * s + j]) }
    var dZ = [Double](repeating: 0, count: s * s)
    for i in 0..<s {
        var dP = [Double](repeating: 0, count: s)
        for j in 0..<s {
            for c in 0..<e { dP[j] += Double(dO[i * ldo + c]) * Double(v[j * ld + c]) }
        }
        let dot = (0..<s).reduce(0.0) { $0 + dP[$1] * p(i, $1) }
        for j in 0..<s { dZ[i * s + j] = Double(scale) * p(i, j) * (dP[j] - dot) }
    }
    for j in 0..<s {
        for c in 0..<e {
            var dv = 0.0, dq = 0.0, dk = 0.0
            for i in 0..<s {
                dv += p(i, j) * Double(dO[i * ldo + c])
                dq += dZ[j * s + i] * Double(k[i * ld + c])
                dk += dZ[i * s + j] * Double(q[i * ld + c])
            }
            dV[j * ld + c] = Float(dv)
            dQ[j * ld + c] = Float(dq)
            dK[j * ld + c] = Float(dk)
        }
    }
}
