// LayerNorm over the last axis (PyTorch semantics: biased variance, eps inside the square root):
//   Y = (X − mean) · rstd · γ + β,   rstd = 1 / √(var + eps),
// and its backward with x̂ = (X − mean)·rstd, g = dY ⊙ γ:
//   dX += rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)),   dγ += Σ_rows dY ⊙ x̂,   dβ += Σ_rows dY.

// MARK: - Forward

/// Normalises each row of X and applies γ, β; saves each row's mean and rstd for the backward.
/// Mean and variance are two-pass (no cancellation). The model uses eps = 1e-6.
/// Shapes: x [R×D], gamma [D], beta [D], y [R×D], mean [R], rstd [R] with R = `rows`, D = `width`.
public func layerNormForward(
    _ x: UnsafeBufferPointer<Float>, gamma: UnsafeBufferPointer<Float>, beta: UnsafeBufferPointer<Float>,
    into y: UnsafeMutableBufferPointer<Float>, mean: UnsafeMutableBufferPointer<Float>,
    rstd: UnsafeMutableBufferPointer<Float>, rows: Int, width: Int, eps: Float, pool: ThreadPool? = nil
) {
    requireCount(x.count, rows * width, "layerNormForward", "x")
    requireCount(y.count, rows * width, "layerNormForward", "y")
    requireCount(gamma.count, width, "layerNormForward", "gamma")
    requireCount(beta.count, width, "layerNormForward", "beta")
    requireCount(mean.count, rows, "layerNormForward", "mean")
    requireCount(rstd.count, rows, "layerNormForward", "rstd")
    precondition(eps >= 0, "layerNormForward: eps must be non-negative, got \(eps)")
    guard rows > 0 else { return }
    precondition(width > 0, "layerNormForward: width must be positive")
    let xp = x.baseAddress!, yp = y.baseAddress!, gp = gamma.baseAddress!, bp = beta.baseAddress!
    let mp = mean.baseAddress!, rp = rstd.baseAddress!
    forEachRowChunk(rows: rows, columns: width, pool: pool) { range in
        for r in range {
            let row = xp + r &* width, out = yp + r &* width
            let mu = rowSum(row, width) / Float(width)
            let inverse = 1 / (rowSquaredDeviation(row, width, mu) / Float(width) + eps).squareRoot()
            mp[r] = mu
            rp[r] = inverse
            let muVector = SIMD16<Float>(repeating: mu), inverseVector = SIMD16<Float>(repeating: inverse)
            var i = 0
            while i &+ 16 <= width {
                let normalised = (loadVector(row, i) - muVector) * inverseVector
                storeVector(loadVector(bp, i).addingProduct(normalised, loadVector(gp, i)), out, i)
                i &+= 16
            }
            while i < width { out[i] = bp[i].addingProduct((row[i] - mu) * inverse, gp[i]); i &+= 1 }
        }
    }
}

/// Σ x[0..<n]: two SIMD16 accumulators (even and odd vectors), a vector tail, then scalars; the
/// order depends only on n.
@inline(__always)
func rowSum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var sums = SIMD16<Float>(), more = SIMD16<Float>()
    var i = 0
    while i &+ 32 <= n {
        sums += loadVector(x, i)
        more += loadVector(x, i &+ 16)
        i &+= 32
    }
    if i &+ 16 <= n { sums += loadVector(x, i); i &+= 16 }
    var sum = horizontalSum(sums + more)
    while i < n { sum += x[i]; i &+= 1 }
    return sum
}

@inline(__always)
private func rowSquaredDeviation(_ x: UnsafePointer<Float>, _ n: Int, _ mu: Float) -> Float {
    let muVector = SIMD16<Float>(repeating: mu)
    var sums = SIMD16<Float>(), more = SIMD16<Float>()
    var i = 0
    while i &+ 32 <= n {
        let d = loadVector(x, i) - muVector, e = loadVector(x, i &+ 16) - muVector
        sums = sums.addingProduct(d, d)
        more = more.addingProduct(e, e)
        i &+= 32
    }
    if i &+ 16 <= n {
        let d = loadVector(x, i) - muVector
        sums = sums.addingProduct(d, d)
        i &+= 16
    }
    var sum = horizontalSum(sums + more)
    while i < n { let d = x[i] - mu; sum = sum.addingProduct(d, d); i &+= 1 }
    return sum
}

// MARK: - Backward

/// Backward of `layerNormForward`. **Accumulates** into dX, dGamma and dBeta.
/// dγ and dβ are summed over fixed blocks of `reductionBlockRows` rows whose partials are added in
/// block order, so every output is bit-identical for any pool.
/// Shapes: dY [R×D], x [R×D], gamma [D], mean [R], rstd [R] (saved by the forward),
/// dX [R×D], dGamma [D], dBeta [D] with R = `rows`, D = `width`.
public func layerNormBackward(
    dY: UnsafeBufferPointer<Float>, x: UnsafeBufferPointer<Float>, gamma: UnsafeBufferPointer<Float>,
    mean: UnsafeBufferPointer<Float>, rstd: UnsafeBufferPointer<Float>,
    dX: UnsafeMutableBufferPointer<Float>, dGamma: UnsafeMutableBufferPointer<Float>,
    dBeta: UnsafeMutableBufferPointer<Float>, rows: Int, width: Int, pool: ThreadPool? = nil
) {
    requireCount(dY.count, rows * width, "layerNormBackward", "dY")
    requireCount(x.count, rows * width, "layerNormBackward", "x")
    requireCount(dX.count, rows * width, "layerNormBackward", "dX")
    requireCount(gamma.count, width, "layerNormBackward", "gamma")
    requireCount(dGamma.count, width, "layerNormBackward", "dGamma")
    requireCount(dBeta.count, width, "layerNormBackward", "dBeta")
    requireCount(mean.count, rows, "layerNormBackward", "mean")
    requireCount(rstd.count, rows, "layerNormBackward", "rstd")
    guard rows > 0, width > 0 else { return }
    let rowArgs = LayerNormRows(dY: dY.baseAddress!, x: x.baseAddress!, gamma: gamma.baseAddress!,
                                mean: mean.baseAddress!, rstd: rstd.baseAddress!, dX: dX.baseAddress!, width: width)
    let dgp = dGamma.baseAddress!, dbp = dBeta.baseAddress!
    // Partial layout: [dγ (D) | dβ (D)].
    reduceOverRowBlocks(rows: rows, width: 2 * width, pool: pool) { range, partial in
        for r in range { rowArgs.backwardRow(r, partialGamma: partial, partialBeta: partial + width) }
    } finish: { total in
        addRow(total, into: dgp, count: width)
        addRow(total + width, into: dbp, count: width)
    }
}

/// The raw pointers of one backward call.
private struct LayerNormRows {
    let dY: UnsafePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>
    let mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>
    let dX: UnsafeMutablePointer<Float>
    let width: Int

    /// dX row r, and row r's contributions to the dγ and dβ partials.
    @inline(__always)
    func backwardRow(_ r: Int, partialGamma: UnsafeMutablePointer<Float>, partialBeta: UnsafeMutablePointer<Float>) {
        let n = width, offset = r &* width
        let g = dY + offset, xr = x + offset, d = dX + offset
        let mu = SIMD16<Float>(repeating: mean[r]), inv = SIMD16<Float>(repeating: rstd[r])
        // Pass 1: Σ g, Σ g ⊙ x̂ (g = dY ⊙ γ); dγ += dY ⊙ x̂; dβ += dY.
        var sumG = SIMD16<Float>(), sumGX = SIMD16<Float>()
        var i = 0
        while i &+ 16 <= n {
            let dy = loadVector(g, i), xhat = (loadVector(xr, i) - mu) * inv
            let gv = dy * loadVector(gamma, i)
            sumG += gv
            sumGX = sumGX.addingProduct(gv, xhat)
            storeVector(loadVector(UnsafePointer(partialGamma), i).addingProduct(dy, xhat), partialGamma, i)
            storeVector(loadVector(UnsafePointer(partialBeta), i) + dy, partialBeta, i)
            i &+= 16
        }
        var totalG = horizontalSum(sumG), totalGX = horizontalSum(sumGX)
        let tailStart = i
        while i < n {
            let xhat = (xr[i] - mu[0]) * inv[0], gv = g[i] * gamma[i]
            totalG += gv
            totalGX = totalGX.addingProduct(gv, xhat)
            partialGamma[i] = partialGamma[i].addingProduct(g[i], xhat)
            partialBeta[i] += g[i]
            i &+= 1
        }
        // Pass 2: dX += rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)).
        let meanG = SIMD16<Float>(repeating: totalG / Float(n)), meanGX = SIMD16<Float>(repeating: totalGX / Float(n))
        i = 0
        while i &+ 16 <= n {
            let xhat = (loadVector(xr, i) - mu) * inv
            let gv = loadVector(g, i) * loadVector(gamma, i)
            let update = (gv - meanG - xhat * meanGX) * inv
            storeVector(loadVector(UnsafePointer(d), i) + update, d, i)
            i &+= 16
        }
        i = tailStart
        while i < n {
            let xhat = (xr[i] - mu[0]) * inv[0], gv = g[i] * gamma[i]
            d[i] += (gv - meanG[0] - xhat * meanGX[0]) * inv[0]
            i &+= 1
        }
    }
}
