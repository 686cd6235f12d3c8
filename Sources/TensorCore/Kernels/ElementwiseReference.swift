// Naive references of the elementwise and bias kernels: plain loops over the first `count` elements
// (test oracles; products accumulate in Double so the fast FMA paths can be checked tightly).

/// Reference of `elementwiseAdd`: out = a + b. Shapes: a, b, out [N].
public func elementwiseAddReference(
    _ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
    count: Int
) {
    for i in 0..<count { out[i] = a[i] + b[i] }
}

/// Reference of `accumulate`: y += x. Shapes: x, y [N].
public func accumulateReference(
    _ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>, count: Int
) {
    for i in 0..<count { y[i] += x[i] }
}

/// Reference of `elementwiseMul`: out = a ⊙ b. Shapes: a, b, out [N].
public func elementwiseMulReference(
    _ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
    count: Int
) {
    for i in 0..<count { out[i] = a[i] * b[i] }
}

/// Reference of `elementwiseMulBackward`: dA += dOut ⊙ b, dB += dOut ⊙ a (accumulates).
/// Shapes: a, b, dOut, dA, dB [N].
public func elementwiseMulBackwardReference(
    _ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>, dOut: UnsafeBufferPointer<Float>,
    dA: UnsafeMutableBufferPointer<Float>?, dB: UnsafeMutableBufferPointer<Float>?, count: Int
) {
    for i in 0..<count {
        if let dA { dA[i] = Float(Double(dA[i]) + Double(dOut[i]) * Double(b[i])) }
        if let dB { dB[i] = Float(Double(dB[i]) + Double(dOut[i]) * Double(a[i])) }
    }
}

/// Reference of `scale`: y = α·x. Shapes: x, y [N].
public func scaleReference(
    _ x: UnsafeBufferPointer<Float>, by alpha: Float, into y: UnsafeMutableBufferPointer<Float>, count: Int
) {
    for i in 0..<count { y[i] = alpha * x[i] }
}

/// Reference of `addScaled`: y += α·x. Shapes: x, y [N].
public func addScaledReference(
    _ x: UnsafeBufferPointer<Float>, by alpha: Float, into y: UnsafeMutableBufferPointer<Float>, count: Int
) {
    for i in 0..<count { y[i] = Float(Double(y[i]) + Double(alpha) * Double(x[i])) }
}

/// Reference of `biasAddForward`: Y[r, c] += bias[c]. Shapes: y [R×C], bias [C].
public func biasAddForwardReference(
    _ y: UnsafeMutableBufferPointer<Float>, bias: UnsafeBufferPointer<Float>, rows: Int, columns: Int
) {
    for r in 0..<rows {
        for c in 0..<columns { y[r * columns + c] += bias[c] }
    }
}

/// Reference of `biasAddBackward`: dBias[c] += Σ_r dY[r, c] (accumulates, Double sums).
/// Shapes: dY [R×C], dBias [C].
public func biasAddBackwardReference(
    dY: UnsafeBufferPointer<Float>, dBias: UnsafeMutableBufferPointer<Float>, rows: Int, columns: Int
) {
    for c in 0..<columns {
        var sum = 0.0
        for r in 0..<rows { sum += Double(dY[r * columns + c]) }
        dBias[c] = Float(Double(dBias[c]) + sum)
    }
}
