// Naive references of the LayerNorm kernels (Double arithmetic): test oracles.

/// Reference of `layerNormForward` (biased variance, eps inside the square root).
/// Shapes: x [R×D], gamma [D], beta [D], y [R×D], mean [R], rstd [R].
public func layerNormForwardReference(
    _ x: UnsafeBufferPointer<Float>, gamma: UnsafeBufferPointer<Float>, beta: UnsafeBufferPointer<Float>,
    into y: UnsafeMutableBufferPointer<Float>, mean: UnsafeMutableBufferPointer<Float>,
    rstd: UnsafeMutableBufferPointer<Float>, rows: Int, width: Int, eps: Float
) {
    for r in 0..<rows {
        let row = (0..<width).map { Double(x[r * width + $0]) }
        let mu = row.reduce(0, +) / Double(width)
        let variance = row.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(width)
        let inverse = 1 / (variance + Double(eps)).squareRoot()
        mean[r] = Float(mu)
        rstd[r] = Float(inverse)
        for c in 0..<width {
            y[r * width + c] = Float((row[c] - mu) * inverse * Double(gamma[c]) + Double(beta[c]))
        }
    }
}

/// Reference of `layerNormBackward` (accumulates into dX, dGamma, dBeta).
/// Shapes: dY [R×D], x [R×D], gamma [D], mean [R], rstd [R], dX [R×D], dGamma [D], dBeta [D].
public func layerNormBackwardReference(
    dY: UnsafeBufferPointer<Float>, x: UnsafeBufferPointer<Float>, gamma: UnsafeBufferPointer<Float>,
    mean: UnsafeBufferPointer<Float>, rstd: UnsafeBufferPointer<Float>,
    dX: UnsafeMutableBufferPointer<Float>, dGamma: UnsafeMutableBufferPointer<Float>,
    dBeta: UnsafeMutableBufferPointer<Float>, rows: Int, width: Int
) {
    var sumGamma = [Double](repeating: 0, count: width), sumBeta = [Double](repeating: 0, count: width)
    for r in 0..<rows {
        let mu = Double(mean[r]), inverse = Double(rstd[r])
        let xhat = (0..<width).map { (Double(x[r * width + $0]) - mu) * inverse }
        let g = (0..<width).map { Double(dY[r * width + $0]) * Double(gamma[$0]) }
        let meanG = g.reduce(0, +) / Double(width)
        let meanGX = zip(g, xhat).reduce(0) { $0 + $1.0 * $1.1 } / Double(width)
        for c in 0..<width {
            let i = r * width + c
            dX[i] = Float(Double(dX[i]) + inverse * (g[c] - meanG - xhat[c] * meanGX))
            sumGamma[c] += Double(dY[i]) * xhat[c]
            sumBeta[c] += Double(dY[i])
        }
    }
    for c in 0..<width {
        dGamma[c] = Float(Double(dGamma[c]) + sumGamma[c])
        dBeta[c] = Float(Double(dBeta[c]) + sumBeta[c])
    }
}
