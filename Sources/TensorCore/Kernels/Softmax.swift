// Row softmax with an optional scale (attention's 1/√d) and key mask, and its backward:
//   Y[r, :] = softmax(scale · X[r, :] over the valid keys), masked keys get probability exactly 0;
//   dX += scale · Y ⊙ (dY − Σ_j dY_j·Y_j).

// MARK: - Forward

/// Y = softmax(scale · X) along each row. Numerically stable (subtracts the row max over valid keys);
/// masked positions get exactly 0 whatever X holds there. Y may alias X.
///
/// `keyMask` (true = the key may be attended) is either shared by all rows (`maskGroupRows == nil`,
/// C entries) or given per group of `maskGroupRows` consecutive rows (`(R / maskGroupRows)·C`
/// entries), e.g. one mask per sample for attention scores laid out [B·H·L, L] with
/// `maskGroupRows = H·L`. Every mask row must allow at least one key. `scale` must be positive.
/// Shapes: x [R×C], y [R×C] with R = `rows`, C = `columns`.
public func softmaxForward(
    _ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>, rows: Int, columns: Int,
    scale: Float = 1, keyMask: UnsafeBufferPointer<Bool>? = nil, maskGroupRows: Int? = nil, pool: ThreadPool? = nil
) {
    requireCount(x.count, rows * columns, "softmaxForward", "x")
    requireCount(y.count, rows * columns, "softmaxForward", "y")
    precondition(scale > 0 && scale.isFinite, "softmaxForward: scale must be positive and finite, got \(scale)")
    guard rows > 0 else { return }
    precondition(columns > 0, "softmaxForward: rows need at least one column")
    let groupRows = softmaxGroupRows(rows: rows, columns: columns, keyMask: keyMask, maskGroupRows: maskGroupRows)
    let valid = keyMask.map { softmaxValidity($0, rows: rows, columns: columns, groupRows: groupRows) }
    defer { valid?.deallocate() }
    let xp = x.baseAddress!, yp = y.baseAddress!
    forEachRowChunk(rows: rows, columns: columns, pool: pool) { range in
        for r in range {
            let validRow = valid.map { UnsafePointer($0 + (r / groupRows) &* columns) }
            softmaxRow(xp + r &* columns, yp + r &* columns, columns, scale, validRow)
        }
    }
}

/// Checks the mask layout and returns the rows per mask row.
private func softmaxGroupRows(
    rows: Int, columns: Int, keyMask: UnsafeBufferPointer<Bool>?, maskGroupRows: Int?
) -> Int {
    guard let keyMask else {
        precondition(maskGroupRows == nil, "softmaxForward: maskGroupRows given without keyMask")
        return rows
    }
    let groupRows = maskGroupRows ?? rows
    precondition(groupRows > 0 && rows % groupRows == 0,
                 "softmaxForward: maskGroupRows \(groupRows) must divide rows \(rows)")
    requireCount(keyMask.count, rows / groupRows * columns, "softmaxForward", "keyMask")
    return groupRows
}

/// The mask as floats (1 valid, 0 masked), [G×C]; traps if a mask row has no valid key.
private func softmaxValidity(
    _ keyMask: UnsafeBufferPointer<Bool>, rows: Int, columns: Int, groupRows: Int
) -> UnsafeMutablePointer<Float> {
    let groups = rows / groupRows
    let valid = UnsafeMutablePointer<Float>.allocate(capacity: groups * columns)
    for g in 0..<groups {
        var any = false
        for c in 0..<columns {
            let allowed = keyMask[g * columns + c]
            valid[g * columns + c] = allowed ? 1 : 0
            any = any || allowed
        }
        precondition(any, "softmaxForward: key mask row \(g) allows no key (at least one is required)")
    }
    return valid
}

/// One row: max over valid keys, exponentials, their sum, then normalisation.
@inline(__always)
private func softmaxRow(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, _ scale: Float,
    _ valid: UnsafePointer<Float>?
) {
    let top = rowMaximum(x, n, valid)
    // Plain counted loops: LLVM's loop vectoriser vectorises them (see VectorMath.swift).
    if let valid {
        for i in 0..<n {
            let e = expApproximation((x[i] - top) * scale)
            y[i] = valid[i] != 0 ? e : 0             // exactly 0, whatever x holds there
        }
    } else {
        for i in 0..<n { y[i] = expApproximation((x[i] - top) * scale) }
    }
    scaleRow(y, n, 1 / rowSum(UnsafePointer(y), n))
}

/// max of x[i] over the valid keys (all keys when `valid` is nil).
@inline(__always)
private func rowMaximum(_ x: UnsafePointer<Float>, _ n: Int, _ valid: UnsafePointer<Float>?) -> Float {
    var maxima = SIMD16<Float>(repeating: -.infinity)
    var i = 0
    while i &+ 16 <= n {
        var v = loadVector(x, i)
        if let valid { v = v.replacing(with: -.infinity, where: loadVector(valid, i) .== 0) }
        maxima = lanewiseMax(maxima, v)
        i &+= 16
    }
    var top = horizontalMax(maxima)
    while i < n {
        if valid.map({ $0[i] != 0 }) ?? true { top = max(top, x[i]) }
        i &+= 1
    }
    return top
}

@inline(__always)
private func scaleRow(_ y: UnsafeMutablePointer<Float>, _ n: Int, _ factor: Float) {
    let vector = SIMD16<Float>(repeating: factor)
    var i = 0
    while i &+ 16 <= n {
        storeVector(loadVector(UnsafePointer(y), i) * vector, y, i)
        i &+= 16
    }
    while i < n { y[i] *= factor; i &+= 1 }
}

// MARK: - Backward

/// Backward of `softmaxForward`: dX += scale · Y ⊙ (dY − Σ_j dY_j·Y_j) per row. **Accumulates**
/// into dX. Masked keys have Y = 0 and so receive no gradient; the mask is not needed here.
/// Shapes: y [R×C] (the forward output), dY [R×C], dX [R×C] with R = `rows`, C = `columns`.
public func softmaxBackward(
    _ y: UnsafeBufferPointer<Float>, dY: UnsafeBufferPointer<Float>, dX: UnsafeMutableBufferPointer<Float>,
    rows: Int, columns: Int, scale: Float = 1, pool: ThreadPool? = nil
) {
    requireCount(y.count, rows * columns, "softmaxBackward", "y")
    requireCount(dY.count, rows * columns, "softmaxBackward", "dY")
    requireCount(dX.count, rows * columns, "softmaxBackward", "dX")
    guard rows > 0, columns > 0 else { return }
    let yp = y.baseAddress!, gp = dY.baseAddress!, dp = dX.baseAddress!
    forEachRowChunk(rows: rows, columns: columns, pool: pool) { range in
        for r in range {
            let offset = r &* columns
            softmaxBackwardRow(yp + offset, gp + offset, dp + offset, columns, scale)
        }
    }
}

@inline(__always)
private func softmaxBackwardRow(
    _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ n: Int, _ scale: Float
) {
    var dots = SIMD16<Float>()
    var i = 0
    while i &+ 16 <= n {
        dots = dots.addingProduct(loadVector(g, i), loadVector(y, i))
        i &+= 16
    }
    var dot = horizontalSum(dots)
    while i < n { dot = dot.addingProduct(g[i], y[i]); i &+= 1 }
    let dotVector = SIMD16<Float>(repeating: dot), factor = SIMD16<Float>(repeating: scale)
    i = 0
    while i &+ 16 <= n {
        let update = (loadVector(y, i) * factor) * (loadVector(g, i) - dotVector)
        storeVector(loadVector(UnsafePointer(d), i) + update, d, i)
        i &+= 16
    }
    while i < n { d[i] += (y[i] * scale) * (g[i] - dot); i &+= 1 }
}
