// MARK: - Reduction kernels of the ring: fixed point and float, fast and naive
//
// Shapes: every kernel works on n elements (n = the chunk or arena length); sources may be unaligned
// (received frames), so the fast paths load through raw pointers. Each fast kernel has a `...Reference`
// twin written as the plain loop; tests compare the two bit for bit.
// Poison (`FixedPointFormat.poison`) marks failures and is sticky; kernels return `false` when they
// produced or met poison, so the caller can locate it with a slow scan only then.

/// Lanes per vector: 8 × Int64 and 16 × Float fill an AVX-512 register.
private typealias IntVector = SIMD8<Int64>
private typealias FloatVector = SIMD16<Float>
private typealias HalfFloatVector = SIMD8<Float>

// MARK: - float -> fixed

/// y[i] = round(x[i] · 2^f) (ties to even), or poison where |x[i]| is not below the format's limit
/// (including NaN and ±Inf). x: [n] float, y: [n] Int64. Returns false if any element was poisoned.
/// (How the floats convert: FixedOperand.swift.)
@discardableResult
public func fixedFromFloat(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Int64>,
                           format: FixedPointFormat) -> Bool {
    precondition(x.count == y.count, "fixedFromFloat: \(x.count) inputs for \(y.count) outputs")
    return fixedSum(.floats(x, format: format), plusZeroInto: y)
}

/// Plain-loop reference of `fixedFromFloat`.
@discardableResult
public func fixedFromFloatReference(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Int64>,
                                    format: FixedPointFormat) -> Bool {
    var ok = true
    for i in 0..<x.count {
        y[i] = fixedFromFloatScalar(x[i], scale: format.scale, limit: format.inputLimit)
        ok = ok && y[i] != FixedPointFormat.poison
    }
    return ok
}

/// round(x · 2^f) or poison, one value: the plain definition every float -> fixed path must match.
public func fixedFromFloatScalarReference(_ x: Float, format: FixedPointFormat) -> Int64 {
    fixedFromFloatScalar(x, scale: format.scale, limit: format.inputLimit)
}

@inline(__always)
func fixedFromFloatScalar(_ x: Float, scale: Float, limit: Float) -> Int64 {
    guard x.magnitude < limit else { return FixedPointFormat.poison }
    return Int64((x * scale).rounded(.toNearestOrEven))
}

// MARK: - fixed += fixed

/// y[i] += x[i] as integers; an overflowing sum, or poison in either operand, gives poison.
/// x: [n] Int64 (any alignment, as raw bytes 8n long), y: [n] Int64. Returns false if any poison resulted.
@discardableResult
public func fixedAdd(_ x: UnsafeRawBufferPointer, into y: UnsafeMutableBufferPointer<Int64>) -> Bool {
    precondition(x.count == y.count * 8, "fixedAdd: \(x.count) bytes for \(y.count) elements")
    let n = y.count
    guard n > 0 else { return true }
    let source = x.baseAddress!, target = UnsafeMutableRawPointer(y.baseAddress!)
    var bad = IntVector()
    var i = 0
    while i + 8 <= n {
        let a = source.loadUnaligned(fromByteOffset: i * 8, as: IntVector.self)
        let b = target.loadUnaligned(fromByteOffset: i * 8, as: IntVector.self)
        let (sum, failed) = fixedAddLanes(a, b)
        target.storeBytes(of: sum, toByteOffset: i * 8, as: IntVector.self)
        bad |= failed
        i += 8
    }
    var ok = bad == IntVector()
    while i < n {
        y[i] = fixedAddScalar(source.loadUnaligned(fromByteOffset: i * 8, as: Int64.self), y[i])
        ok = ok && y[i] != FixedPointFormat.poison
        i += 1
    }
    return ok
}

/// a + b per lane, with poison where the sum overflows or either operand is poison; `failed` is all ones
/// in those lanes. All-ones masks come from arithmetic shifts: Int64 SIMD comparisons are scalarised.
@inline(__always)
func fixedAddLanes(_ a: SIMD8<Int64>, _ b: SIMD8<Int64>) -> (sum: SIMD8<Int64>, failed: SIMD8<Int64>) {
    let poison = SIMD8<Int64>(repeating: FixedPointFormat.poison)
    let sum = a &+ b
    let overflow = ((a ^ sum) & (b ^ sum)) &>> 63
    let ta = a ^ poison, tb = b ^ poison                  // zero exactly for poison
    let poisoned = ~((ta | (0 &- ta)) &>> 63) | ~((tb | (0 &- tb)) &>> 63)
    let failed = overflow | poisoned
    return ((sum & ~failed) | (poison & failed), failed)
}

/// Typed convenience over `fixedAdd(_:into:)`.
@discardableResult
public func fixedAdd(_ x: UnsafeBufferPointer<Int64>, into y: UnsafeMutableBufferPointer<Int64>) -> Bool {
    fixedAdd(UnsafeRawBufferPointer(x), into: y)
}

/// Plain-loop reference of `fixedAdd`.
@discardableResult
public func fixedAddReference(_ x: UnsafeBufferPointer<Int64>, into y: UnsafeMutableBufferPointer<Int64>) -> Bool {
    var ok = true
    for i in 0..<y.count {
        y[i] = fixedAddScalar(x[i], y[i])
        ok = ok && y[i] != FixedPointFormat.poison
    }
    return ok
}

@inline(__always)
func fixedAddScalar(_ a: Int64, _ b: Int64) -> Int64 {
    guard a != FixedPointFormat.poison, b != FixedPointFormat.poison else { return FixedPointFormat.poison }
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? FixedPointFormat.poison : sum
}

// MARK: - fixed -> float

/// x[i] = Float(y[i]) · 2^-f (one rounding), or NaN where y[i] is poison.
/// y: [n] Int64, x: [n] float. Returns false if any poison was met.
@discardableResult
public func floatFromFixed(_ y: UnsafeBufferPointer<Int64>, _ x: UnsafeMutableBufferPointer<Float>,
                           format: FixedPointFormat) -> Bool {
    precondition(x.count == y.count, "floatFromFixed: \(y.count) inputs for \(x.count) outputs")
    let n = y.count, inverse = format.inverseScale
    guard n > 0 else { return true }
    let source = UnsafeRawPointer(y.baseAddress!), target = UnsafeMutableRawPointer(x.baseAddress!)
    let poison = IntVector(repeating: FixedPointFormat.poison)
    var ok = true
    var i = 0
    while i + 8 <= n {
        let v = source.loadUnaligned(fromByteOffset: i * 8, as: IntVector.self)
        target.storeBytes(of: HalfFloatVector(v) * inverse, toByteOffset: i * 4, as: HalfFloatVector.self)
        let t = v ^ poison   // zero exactly for poison (arithmetic masks: Int64 SIMD comparisons are scalarised)
        if ~((t | (0 &- t)) &>> 63) != IntVector() {  // rare: mark the failed lanes
            ok = false
            for lane in 0..<8 where v[lane] == FixedPointFormat.poison { x[i + lane] = .nan }
        }
        i += 8
    }
    while i < n {
        x[i] = floatFromFixedScalar(y[i], inverse: inverse)
        ok = ok && y[i] != FixedPointFormat.poison
        i += 1
    }
    return ok
}

/// Plain-loop reference of `floatFromFixed`.
@discardableResult
public func floatFromFixedReference(_ y: UnsafeBufferPointer<Int64>, _ x: UnsafeMutableBufferPointer<Float>,
                                    format: FixedPointFormat) -> Bool {
    var ok = true
    for i in 0..<y.count {
        x[i] = floatFromFixedScalar(y[i], inverse: format.inverseScale)
        ok = ok && y[i] != FixedPointFormat.poison
    }
    return ok
}

@inline(__always)
func floatFromFixedScalar(_ y: Int64, inverse: Float) -> Float {
    y == FixedPointFormat.poison ? .nan : Float(y) * inverse
}

// MARK: - float += float

/// y[i] += x[i] in float32 (float mode: fast, not bit-stable across orders).
/// x: [n] float (any alignment, as raw bytes 4n long), y: [n] float.
public func floatAdd(_ x: UnsafeRawBufferPointer, into y: UnsafeMutableBufferPointer<Float>) {
    precondition(x.count == y.count * 4, "floatAdd: \(x.count) bytes for \(y.count) elements")
    let n = y.count
    guard n > 0 else { return }
    let source = x.baseAddress!, target = UnsafeMutableRawPointer(y.baseAddress!)
    var i = 0
    while i + 64 <= n {   // four independent vectors per iteration, like the unrolled autovectorised loop
        for k in 0..<4 {
            let offset = i * 4 + 64 * k
            let sum = source.loadUnaligned(fromByteOffset: offset, as: FloatVector.self)
                + target.loadUnaligned(fromByteOffset: offset, as: FloatVector.self)
            target.storeBytes(of: sum, toByteOffset: offset, as: FloatVector.self)
        }
        i += 64
    }
    while i + 16 <= n {
        let sum = source.loadUnaligned(fromByteOffset: i * 4, as: FloatVector.self)
            + target.loadUnaligned(fromByteOffset: i * 4, as: FloatVector.self)
        target.storeBytes(of: sum, toByteOffset: i * 4, as: FloatVector.self)
        i += 16
    }
    while i < n {
        y[i] += source.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
        i += 1
    }
}

/// Typed convenience over `floatAdd(_:into:)`.
public func floatAdd(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) {
    floatAdd(UnsafeRawBufferPointer(x), into: y)
}

/// Plain-loop reference of `floatAdd`.
public func floatAddReference(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) {
    for i in 0..<y.count { y[i] += x[i] }
}
