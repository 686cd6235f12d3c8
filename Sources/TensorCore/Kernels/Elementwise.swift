// Elementwise kernels on flat buffers: add, accumulate, multiply (with backward), scale, addScaled.
// Every buffer may be longer than `count`; only its first `count` elements are read or written.
// Outputs may alias inputs (each element is read before it is written, at the same index).

// MARK: - Add

/// out = a + b.
/// Shapes: a [N], b [N], out [N] with N = `count`.
public func elementwiseAdd(
    _ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
    count: Int, pool: ThreadPool? = nil
) {
    requireCount(a.count, count, "elementwiseAdd", "a")
    requireCount(b.count, count, "elementwiseAdd", "b")
    requireCount(out.count, count, "elementwiseAdd", "out")
    guard count > 0 else { return }
    let ap = a.baseAddress!, bp = b.baseAddress!, op = out.baseAddress!
    forEachElementChunk(count, pool: pool) { start, n in
        let a = ap + start, b = bp + start, o = op + start
        var i = 0
        while i &+ 16 <= n {
            storeVector(loadVector(a, i) + loadVector(b, i), o, i)
            i &+= 16
        }
        while i < n { o[i] = a[i] + b[i]; i &+= 1 }
    }
}

/// y += x (in-place add, e.g. a residual connection or summing two gradient paths).
/// Shapes: x [N], y [N] with N = `count`.
public func accumulate(
    _ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>, count: Int, pool: ThreadPool? = nil
) {
    requireCount(x.count, count, "accumulate", "x")
    requireCount(y.count, count, "accumulate", "y")
    guard count > 0 else { return }
    let xp = x.baseAddress!, yp = y.baseAddress!
    forEachElementChunk(count, pool: pool) { start, n in
        addRow(xp + start, into: yp + start, count: n)
    }
}

// MARK: - Multiply

/// out = a ⊙ b.
/// Shapes: a [N], b [N], out [N] with N = `count`.
public func elementwiseMul(
    _ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
    count: Int, pool: ThreadPool? = nil
) {
    requireCount(a.count, count, "elementwiseMul", "a")
    requireCount(b.count, count, "elementwiseMul", "b")
    requireCount(out.count, count, "elementwiseMul", "out")
    guard count > 0 else { return }
    let ap = a.baseAddress!, bp = b.baseAddress!, op = out.baseAddress!
    forEachElementChunk(count, pool: pool) { start, n in
        let a = ap + start, b = bp + start, o = op + start
        var i = 0
        while i &+ 16 <= n {
            storeVector(loadVector(a, i) * loadVector(b, i), o, i)
            i &+= 16
        }
        while i < n { o[i] = a[i] * b[i]; i &+= 1 }
    }
}

/// Backward of `elementwiseMul`: dA += dOut ⊙ b, dB += dOut ⊙ a. **Accumulates** into dA and dB;
/// pass nil for a gradient that is not needed.
/// Shapes: a [N], b [N], dOut [N], dA [N], dB [N] with N = `count`.
public func elementwiseMulBackward(
    _ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>, dOut: UnsafeBufferPointer<Float>,
    dA: UnsafeMutableBufferPointer<Float>?, dB: UnsafeMutableBufferPointer<Float>?,
    count: Int, pool: ThreadPool? = nil
) {
    requireCount(dOut.count, count, "elementwiseMulBackward", "dOut")
    if let dA {
        requireCount(b.count, count, "elementwiseMulBackward", "b")
        requireCount(dA.count, count, "elementwiseMulBackward", "dA")
        addProduct(dOut, b, into: dA, count: count, pool: pool)
    }
    if let dB {
        requireCount(a.count, count, "elementwiseMulBackward", "a")
        requireCount(dB.count, count, "elementwiseMulBackward", "dB")
        addProduct(dOut, a, into: dB, count: count, pool: pool)
    }
}

/// y += u ⊙ v with FMA (vector and tail alike).
private func addProduct(
    _ u: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>,
    count: Int, pool: ThreadPool?
) {
    guard count > 0 else { return }
    let up = u.baseAddress!, vp = v.baseAddress!, yp = y.baseAddress!
    forEachElementChunk(count, pool: pool) { start, n in
        let u = up + start, v = vp + start, y = yp + start
        var i = 0
        while i &+ 16 <= n {
            storeVector(loadVector(UnsafePointer(y), i).addingProduct(loadVector(u, i), loadVector(v, i)), y, i)
            i &+= 16
        }
        while i < n { y[i] = y[i].addingProduct(u[i], v[i]); i &+= 1 }
    }
}

// MARK: - Scale

/// y = α·x.
/// Shapes: x [N], y [N] with N = `count`.
public func scale(
    _ x: UnsafeBufferPointer<Float>, by alpha: Float, into y: UnsafeMutableBufferPointer<Float>,
    count: Int, pool: ThreadPool? = nil
) {
    requireCount(x.count, count, "scale", "x")
    requireCount(y.count, count, "scale", "y")
    guard count > 0 else { return }
    let xp = x.baseAddress!, yp = y.baseAddress!
    let factor = SIMD16<Float>(repeating: alpha)
    forEachElementChunk(count, pool: pool) { start, n in
        let x = xp + start, y = yp + start
        var i = 0
        while i &+ 16 <= n {
            storeVector(loadVector(x, i) * factor, y, i)
            i &+= 16
        }
        while i < n { y[i] = x[i] * alpha; i &+= 1 }
    }
}

/// y = α·y (in place).
/// Shapes: y [N] with N = `count`.
public func scaleInPlace(_ y: UnsafeMutableBufferPointer<Float>, by alpha: Float, count: Int, pool: ThreadPool? = nil) {
    scale(UnsafeBufferPointer(y), by: alpha, into: y, count: count, pool: pool)
}

/// y += α·x (axpy), with FMA.
/// Shapes: x [N], y [N] with N = `count`.
public func addScaled(
    _ x: UnsafeBufferPointer<Float>, by alpha: Float, into y: UnsafeMutableBufferPointer<Float>,
    count: Int, pool: ThreadPool? = nil
) {
    requireCount(x.count, count, "addScaled", "x")
    requireCount(y.count, count, "addScaled", "y")
    guard count > 0 else { return }
    let xp = x.baseAddress!, yp = y.baseAddress!
    let factor = SIMD16<Float>(repeating: alpha)
    forEachElementChunk(count, pool: pool) { start, n in
        let x = xp + start, y = yp + start
        var i = 0
        while i &+ 16 <= n {
            storeVector(loadVector(UnsafePointer(y), i).addingProduct(factor, loadVector(x, i)), y, i)
            i &+= 16
        }
        while i < n { y[i] = y[i].addingProduct(alpha, x[i]); i &+= 1 }
    }
}
