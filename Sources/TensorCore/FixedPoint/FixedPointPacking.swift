// MARK: - Narrow wire widths for fixed-point chunks
//
// Exact mode's integers are 64 bits wide, but realistic gradients at the standard 2^40 scale stay far below
// 2^39 (docs/BENCHMARKS.md "Fixed-point scale": |g| <= 2^-4, i.e. |x · 2^40| <= 2^36), so a chunk usually
// fits in 5 bytes per element. A sender picks the narrowest width in 5...8 that holds *every* value of
// its chunk (poison needs 8), writes the low bytes of each value, and states the width in the chunk header;
// the receiver sign-extends. Nothing is rounded, so sums stay exact; only bytes on the wire shrink
// (reduce-scatter 8 -> 5 bytes per element).
//
// Shapes: n elements; packed buffers are n · width bytes, any alignment.

/// The narrowest width in 5...8 bytes that holds every value of `x` as a signed little-endian integer.
public func fixedPackedWidth(_ x: UnsafeBufferPointer<Int64>) -> Int {
    // v ^ (v >> 63) clears the sign copies: its highest set bit + 1 sign bit is what a value needs.
    var folded = SIMD8<Int64>()
    var i = 0
    let n = x.count
    if n >= 8 {
        let source = UnsafeRawPointer(x.baseAddress!)
        while i + 8 <= n {
            let v = source.loadUnaligned(fromByteOffset: i * 8, as: SIMD8<Int64>.self)
            folded |= v ^ (v &>> 63)
            i += 8
        }
    }
    var bits = folded[0] | folded[1] | folded[2] | folded[3] | folded[4] | folded[5] | folded[6] | folded[7]
    while i < n {
        bits |= x[i] ^ (x[i] >> 63)
        i += 1
    }
    let needed = (64 - bits.leadingZeroBitCount) + 1        // magnitude bits + sign bit
    return min(8, max(5, (needed + 7) / 8))
}

/// Writes the low `width` bytes of each x[i], little-endian. x: [n] Int64 (every value must fit, see
/// `fixedPackedWidth`), y: n · width bytes.
public func fixedPack(_ x: UnsafeBufferPointer<Int64>, width: Int, into y: UnsafeMutableRawBufferPointer) {
    precondition((1...8).contains(width) && y.count == x.count * width,
                 "fixedPack: \(y.count) bytes for \(x.count) elements of width \(width)")
    let n = x.count
    guard n > 0 else { return }
    let target = y.baseAddress!
    // Whole 8-byte stores that overlap the next element's slot, in increasing order, so each later store
    // overwrites the previous one's spill; the last elements (whose 8 bytes would run past the end) go bytewise.
    var i = 0
    while i < n && i * width + 8 <= y.count {
        target.storeBytes(of: x[i].littleEndian, toByteOffset: i * width, as: Int64.self)
        i += 1
    }
    while i < n {
        var value = x[i].littleEndian
        withUnsafeBytes(of: &value) { bytes in
            (target + i * width).copyMemory(from: bytes.baseAddress!, byteCount: width)
        }
        i += 1
    }
}

/// y[i] += sign-extended x[i] (x packed `width` bytes per element); overflow or poison in y gives poison.
/// Returns false if any poison resulted. x: n · width bytes, y: [n] Int64.
@discardableResult
public func fixedAddPacked(_ x: UnsafeRawBufferPointer, width: Int,
                           into y: UnsafeMutableBufferPointer<Int64>) -> Bool {
    precondition((1...8).contains(width) && x.count == y.count * width,
                 "fixedAddPacked: \(x.count) bytes for \(y.count) elements of width \(width)")
    if width == 8 { return fixedAdd(x, into: y) }
    let n = y.count
    guard n > 0 else { return true }
    let source = x.baseAddress!, target = UnsafeMutableRawPointer(y.baseAddress!)
    let shift = SIMD8<Int64>(repeating: Int64(64 - 8 * width))
    var bad = SIMD8<Int64>()
    var i = 0
    // Eight elements per vector, each lane from one unaligned 8-byte load, while the last load stays in bounds.
    while i + 8 <= n && (i + 7) * width + 8 <= x.count {
        let base = source + i * width
        var raw = SIMD8<Int64>()
        for lane in 0..<8 { raw[lane] = base.loadUnaligned(fromByteOffset: lane * width, as: Int64.self) }
        let a = (raw.littleEndianLanes &<< shift) &>> shift
        let b = target.loadUnaligned(fromByteOffset: i * 8, as: SIMD8<Int64>.self)
        let (sum, failed) = fixedAddLanes(a, b)
        target.storeBytes(of: sum, toByteOffset: i * 8, as: SIMD8<Int64>.self)
        bad |= failed
        i += 8
    }
    var ok = bad == SIMD8<Int64>()
    let rest = UnsafeRawBufferPointer(rebasing: x[(i * width)...])
    forEachPacked(rest, width: width, count: n - i) { k, value in
        y[i + k] = fixedAddScalar(value, y[i + k])
        ok = ok && y[i + k] != FixedPointFormat.poison
    }
    return ok
}

/// y[i] = sign-extended x[i] (x packed `width` bytes per element). x: n · width bytes, y: [n] Int64.
public func fixedUnpack(_ x: UnsafeRawBufferPointer, width: Int, into y: UnsafeMutableBufferPointer<Int64>) {
    precondition((1...8).contains(width) && x.count == y.count * width,
                 "fixedUnpack: \(x.count) bytes for \(y.count) elements of width \(width)")
    forEachPacked(x, width: width, count: y.count) { i, value in y[i] = value }
}

/// Calls `body(i, value)` for each sign-extended packed element, with 8-byte loads where they stay in bounds.
@inline(__always)
private func forEachPacked(_ x: UnsafeRawBufferPointer, width: Int, count n: Int, _ body: (Int, Int64) -> Void) {
    guard n > 0 else { return }
    let source = x.baseAddress!
    let shift = Int64(64 - 8 * width)
    var i = 0
    while i < n && i * width + 8 <= x.count {
        let raw = Int64(littleEndian: source.loadUnaligned(fromByteOffset: i * width, as: Int64.self))
        body(i, (raw &<< shift) &>> shift)
        i += 1
    }
    while i < n {
        var raw: Int64 = 0
        withUnsafeMutableBytes(of: &raw) { $0.baseAddress!.copyMemory(from: source + i * width, byteCount: width) }
        raw = Int64(littleEndian: raw)
        body(i, (raw &<< shift) &>> shift)
        i += 1
    }
}

private extension SIMD8 where Scalar == Int64 {
    /// Lanes read from little-endian memory as host integers (a no-op on little-endian hosts).
    var littleEndianLanes: SIMD8<Int64> {
        #if _endian(little)
        return self
        #else
        var out = self
        for lane in 0..<8 { out[lane] = Int64(littleEndian: self[lane]) }
        return out
        #endif
    }
}

// MARK: - References

/// Plain-loop reference of `fixedPackedWidth`: the first width whose signed range holds every value.
public func fixedPackedWidthReference(_ x: UnsafeBufferPointer<Int64>) -> Int {
    for width in 5...7 {
        let limit = Int64(1) << (8 * width - 1)
        if x.allSatisfy({ $0 >= -limit && $0 < limit }) { return width }
    }
    return 8
}

/// Plain-loop reference of `fixedPack` + `fixedAddPacked`: byte by byte, then the scalar add.
@discardableResult
public func fixedAddPackedReference(_ x: [UInt8], width: Int, into y: UnsafeMutableBufferPointer<Int64>) -> Bool {
    var ok = true
    for i in 0..<y.count {
        var value: UInt64 = 0
        for b in 0..<width { value |= UInt64(x[i * width + b]) << (8 * b) }
        if width < 8, value & (1 << (8 * width - 1)) != 0 { value |= ~0 << (8 * width) }   // sign-extend
        y[i] = fixedAddScalar(Int64(bitPattern: value), y[i])
        ok = ok && y[i] != FixedPointFormat.poison
    }
    return ok
}
