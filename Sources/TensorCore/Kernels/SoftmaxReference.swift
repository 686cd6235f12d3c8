// Naive references of the softmax kernels (Double arithmetic, libm exp): test oracles.

import Foundation

/// Reference of `softmaxForward` (same arguments and mask layout).
/// Shapes: x [R×C], y [R×C], keyMask [C] or [(R / maskGroupRows)×C].
public func softmaxForwardReference(
    _ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>, rows: Int, columns: Int,
    scale: Float = 1, keyMask: UnsafeBufferPointer<Bool>? = nil, maskGroupRows: Int? = nil
) {
    let groupRows = maskGroupRows ?? rows
    for r in 0..<rows {
        let allowed = { (c: Int) -> Bool in keyMask.map { $0[(r / groupRows) * columns + c] } ?? true }
        var maximum = -Double.infinity
        for c in 0..<columns where allowed(c) { maximum = max(maximum, Double(scale) * Double(x[r * columns + c])) }
        var sum = 0.0
        for c in 0..<columns where allowed(c) { sum += exp(Double(scale) * Double(x[r * columns + c]) - maximum) }
        for c in 0..<columns {
            y[r * columns + c] = allowed(c) ? Float(exp(Double(scale) * Double(x[r * columns + c]) - maximum) / sum) : 0
        }
    }
}

/// Reference of `softmaxBackward`: dX += scale · Y ⊙ (dY − Σ_j dY_j·Y_j) (accumulates).
/// Shapes: y, dY, dX [R×C].
public func softmaxBackwardReference(
    _ y: UnsafeBufferPointer<Float>, dY: UnsafeBufferPointer<Float>, dX: UnsafeMutableBufferPointer<Float>,
    rows: Int, columns: Int, scale: Float = 1
) {
    for r in 0..<rows {
        var dot = 0.0
        for c in 0..<columns { dot += Double(dY[r * columns + c]) * Double(y[r * columns + c]) }
        for c in 0..<columns {
            let i = r * columns + c
            dX[i] = Float(Double(dX[i]) + Double(scale) * Double(y[i]) * (Double(dY[i]) - dot))
        }
    }
}
