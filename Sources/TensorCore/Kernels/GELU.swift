// GELU in its exact (erf) form, as PyTorch's `nn.GELU()` default used by timm ViT / MAE:
//   y = x·Φ(x) = ½·x·(1 + erf(x/√2)),   dy/dx = Φ(x) + x·φ(x).
// Φ and φ come from `normalCDFApproximation` / `normalPDFApproximation` (VectorMath.swift; Φ has
// absolute error 9.6e-8). The loops are plain counted loops over raw pointers, which LLVM's loop
// vectoriser turns into 8/16-wide code; remainder iterations compute the same operations.

import Foundation

// MARK: - Forward

/// y = GELU(x) = x·Φ(x). y may alias x.
/// Shapes: x [N], y [N] with N = `count`.
public func geluForward(
    _ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>, count: Int, pool: ThreadPool? = nil
) {
    requireCount(x.count, count, "geluForward", "x")
    requireCount(y.count, count, "geluForward", "y")
    guard count > 0 else { return }
    let xp = x.baseAddress!, yp = y.baseAddress!
    forEachElementChunk(count, pool: pool) { start, n in
        let x = xp + start, y = yp + start
        for i in 0..<n {
            let v = x[i]
            y[i] = v * normalCDFApproximation(v)
        }
    }
}

// MARK: - Backward

/// Backward of `geluForward`: dX += dY·(Φ(x) + x·φ(x)). **Accumulates** into dX.
/// Shapes: x [N] (the forward input), dY [N], dX [N] with N = `count`.
public func geluBackward(
    _ x: UnsafeBufferPointer<Float>, dY: UnsafeBufferPointer<Float>, dX: UnsafeMutableBufferPointer<Float>,
    count: Int, pool: ThreadPool? = nil
) {
    requireCount(x.count, count, "geluBackward", "x")
    requireCount(dY.count, count, "geluBackward", "dY")
    requireCount(dX.count, count, "geluBackward", "dX")
    guard count > 0 else { return }
    let xp = x.baseAddress!, gp = dY.baseAddress!, dp = dX.baseAddress!
    forEachElementChunk(count, pool: pool) { start, n in
        let x = xp + start, g = gp + start, d = dp + start
        for i in 0..<n {
            let v = x[i]
            let slope = normalCDFApproximation(v) + v * normalPDFApproximation(v)
            d[i] = d[i].addingProduct(g[i], slope)
        }
    }
}

// MARK: - Reference

/// Reference of `geluForward` in Double with libm `erf`.
/// Shapes: x [N], y [N].
public func geluForwardReference(
    _ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>, count: Int
) {
    for i in 0..<count {
        let v = Double(x[i])
        y[i] = Float(0.5 * v * (1 + erf(v / 2.0.squareRoot())))
    }
}

/// Reference of `geluBackward` in Double: dX += dY·(Φ(x) + x·φ(x)) (accumulates).
/// Shapes: x [N], dY [N], dX [N].
public func geluBackwardReference(
    _ x: UnsafeBufferPointer<Float>, dY: UnsafeBufferPointer<Float>, dX: UnsafeMutableBufferPointer<Float>, count: Int
) {
    for i in 0..<count {
        let v = Double(x[i])
        let cdf = 0.5 * (1 + erf(v / 2.0.squareRoot()))
        let pdf = exp(-0.5 * v * v) / (2 * Double.pi).squareRoot()
        dX[i] = Float(Double(dX[i]) + Double(dY[i]) * (cdf + v * pdf))
    }
}
