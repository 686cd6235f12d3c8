// MARK: - Exact mode's fused ring kernels: one pass over the integers where there were two or three
//
// Exact mode's reduce-scatter is bound by passes over the 8-byte integers (twice the bytes of the floats
// float mode works on), so its two hot spots read them once:
// - sending: pack at the common width 5 while checking that every value fits, instead of a width scan
//   and then the packing (`fixedPackIfFits`);
// - the last reduce-scatter step: add the received packed partial sums and convert straight to float,
//   instead of writing the integer sums back and reading them again to convert (`fixedAddPackedToFloat`).
//
// Shapes: n elements; packed buffers are n · width bytes (planar form, FixedPointPacking.swift).

/// Writes x in the planar form of `width` (5, 6 or 8) and returns whether every value fits that width as a
/// signed integer (if not, y holds garbage and the caller packs wider). x: [n] Int64, y: n · width bytes.
public func fixedPackIfFits(_ x: UnsafeBufferPointer<Int64>, width: Int,
                            into y: UnsafeMutableRawBufferPointer) -> Bool {
    precondition(fixedPackedWidths.contains(width) && y.count == x.count * width,
                 "fixedPackIfFits: \(y.count) bytes for \(x.count) elements of width \(width)")
    let n = x.count
    guard n > 0 else { return true }
    if width == 8 {
        y.copyMemory(from: UnsafeRawBufferPointer(x))
        return true
    }
    let source = UnsafeRawPointer(x.baseAddress!)
    // v ^ (v >> 63) clears the sign copies; a value fits iff that has no bit at or above 8 · width - 1.
    var folded = SIMD8<Int64>()
    var i = 0
    while i + 8 <= n {
        let v = source.loadUnaligned(fromByteOffset: i * 8, as: SIMD8<Int64>.self)
        folded |= v ^ (v &>> 63)
        storePlanar(v, y, count: n, width: width, at: i)
        i += 8
    }
    var bits = folded[0] | folded[1] | folded[2] | folded[3] | folded[4] | folded[5] | folded[6] | folded[7]
    while i < n {
        bits |= x[i] ^ (x[i] >> 63)
        storePlanarValue(x[i], y, count: n, width: width, at: i)
        i += 1
    }
    return bits >> (8 * width - 1) == 0
}

/// out[i] = float(y[i] + x[i]) in one pass (x in the planar form of `width`): the sum is exact (overflow or
/// poison gives poison) and rounded to float once, like `fixedAddPacked` followed by `floatFromFixed`, but
/// y is only read. Poison becomes NaN; returns false if any resulted.
/// x: n · width bytes, y: [n] Int64, out: [n] float.
@discardableResult
public func fixedAddPackedToFloat(_ x: UnsafeRawBufferPointer, width: Int, _ y: UnsafeBufferPointer<Int64>,
                                  into out: UnsafeMutableBufferPointer<Float>, format: FixedPointFormat) -> Bool {
    checkPacked(x, width: width, count: y.count, "fixedAddPackedToFloat")
    precondition(out.count == y.count, "fixedAddPackedToFloat: \(y.count) integers for \(out.count) floats")
    let n = y.count, inverse = format.inverseScale
    guard n > 0 else { return true }
    let integers = UnsafeRawPointer(y.baseAddress!), target = UnsafeMutableRawPointer(out.baseAddress!)
    var bad = SIMD8<Int64>()
    var i = 0
    while i + 8 <= n {
        let a = width == 8
            ? x.baseAddress!.loadUnaligned(fromByteOffset: i * 8, as: SIMD8<Int64>.self).littleEndianLanes
            : loadPlanar(x, count: n, width: width, at: i)
        let b = integers.loadUnaligned(fromByteOffset: i * 8, as: SIMD8<Int64>.self)
        let (sum, failed) = fixedAddLanes(a, b)
        // Failed lanes (all ones) hold poison: OR-ing the quiet-NaN bits into their float makes it NaN.
        let converted = unsafeBitCast(floatLanes(sum) * inverse, to: SIMD8<UInt32>.self)
        let nanBits = narrowed(failed) & SIMD8<UInt32>(repeating: 0x7FC0_0000)
        target.storeBytes(of: converted | nanBits, toByteOffset: i * 4, as: SIMD8<UInt32>.self)
        bad |= failed
        i += 8
    }
    var ok = bad == SIMD8<Int64>()
    while i < n {
        let a = width == 8 ? Int64(littleEndian: x.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
                           : planarValue(x, count: n, width: width, at: i)
        let sum = fixedAddScalar(a, y[i])
        out[i] = floatFromFixedScalar(sum, inverse: inverse)
        ok = ok && sum != FixedPointFormat.poison
        i += 1
    }
    return ok
}

/// Float(v) lane by lane, written out so that it inlines into one conversion instruction.
@inline(__always)
private func floatLanes(_ v: SIMD8<Int64>) -> SIMD8<Float> {
    SIMD8<Float>(Float(v[0]), Float(v[1]), Float(v[2]), Float(v[3]),
                 Float(v[4]), Float(v[5]), Float(v[6]), Float(v[7]))
}

// MARK: - References

/// Plain-loop reference of `fixedPackIfFits`: the reference width test, then byte-by-byte packing.
public func fixedPackIfFitsReference(_ x: UnsafeBufferPointer<Int64>, width: Int,
                                     into y: UnsafeMutableRawBufferPointer) -> Bool {
    let n = x.count
    for i in 0..<n {
        let bits = UInt64(bitPattern: x[i])
        if width == 8 {
            for b in 0..<8 { y[8 * i + b] = UInt8(truncatingIfNeeded: bits >> (8 * b)) }
            continue
        }
        for b in 0..<4 { y[4 * i + b] = UInt8(truncatingIfNeeded: bits >> (8 * b)) }
        for b in 0..<(width - 4) { y[4 * n + (width - 4) * i + b] = UInt8(truncatingIfNeeded: bits >> (32 + 8 * b)) }
    }
    guard width < 8 else { return true }
    let limit = Int64(1) << (8 * width - 1)
    return x.allSatisfy { $0 >= -limit && $0 < limit }
}

/// Plain-loop reference of `fixedAddPackedToFloat`: `fixedAddPackedReference` on a copy, then
/// `floatFromFixedReference`.
@discardableResult
public func fixedAddPackedToFloatReference(_ x: [UInt8], width: Int, _ y: [Int64],
                                           into out: UnsafeMutableBufferPointer<Float>,
                                           format: FixedPointFormat) -> Bool {
    var sums = y
    let added = sums.withUnsafeMutableBufferPointer { fixedAddPackedReference(x, width: width, into: $0) }
    let converted = sums.withUnsafeBufferPointer { floatFromFixedReference($0, out, format: format) }
    return added && converted
}
