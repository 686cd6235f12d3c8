// MARK: - Narrow wire forms for fixed-point chunks
//
// Exact mode's integers are 64 bits wide, but realistic gradients at the standard 2^40 scale stay far below
// 2^39 (docs/BENCHMARKS.md "Fixed-point scale": |g| <= 2^-4, i.e. |x · 2^40| <= 2^36), so a chunk usually
// fits in 5 bytes per element. A sender picks the narrowest width of 5, 6 or 8 bytes that holds *every*
// value of its chunk (poison needs 8) and states it in the chunk header; nothing is rounded, so sums stay
// exact, and only bytes on the wire shrink (reduce-scatter 8 -> 5 bytes per element).
//
// Planar layout, so that packing and unpacking are plain vector conversions (vpmovqd / vpmovzxdq and
// friends) rather than byte shuffles: a chunk of n values at width 5 is [n × UInt32 low halves][n × Int8
// high parts]; at width 6 the high parts are Int16; at width 8 it is the Int64 values themselves. All
// little-endian. value = high · 2^32 + low, with the high part sign-extended. On the ring the two planes
// travel as two frames; kernels take them as `FixedPlanes` (FixedPlanes.swift), and the functions here
// over one contiguous buffer ([low][high]) are conveniences over those.
//
// Shapes: n elements; packed buffers are n · width bytes, any alignment.

/// The wire widths of fixed-point chunks (bytes per element).
public let fixedPackedWidths = [5, 6, 8]

/// The narrowest of `fixedPackedWidths` that holds every value of `x` as a signed integer.
public func fixedPackedWidth(_ x: UnsafeBufferPointer<Int64>) -> Int {
    let bits = significantBits(x)
    return bits <= 40 ? 5 : bits <= 48 ? 6 : 8
}

/// Writes x in the planar form of `width` (5, 6 or 8); every value must fit (see `fixedPackedWidth`).
/// x: [n] Int64, y: n · width bytes.
public func fixedPack(_ x: UnsafeBufferPointer<Int64>, width: Int, into y: UnsafeMutableRawBufferPointer) {
    fixedPack(x, into: MutableFixedPlanes(packed: y, count: x.count, width: width))
}

/// Writes x into the planes y; every value must fit y's width. x: [n] Int64, y: n values.
public func fixedPack(_ x: UnsafeBufferPointer<Int64>, into y: MutableFixedPlanes) {
    let fits = fixedPackIfFits(x, into: y)
    precondition(fits, "fixedPack: a value does not fit in \(y.width) bytes")
}

/// y[i] += x[i] (x in the planar form of `width`); overflow or poison in y gives poison.
/// Returns false if any poison resulted. x: n · width bytes, y: [n] Int64.
@discardableResult
public func fixedAddPacked(_ x: UnsafeRawBufferPointer, width: Int,
                           into y: UnsafeMutableBufferPointer<Int64>) -> Bool {
    fixedSum(FixedPlanes(packed: x, count: y.count, width: width), FixedPlanes(UnsafeBufferPointer(y)), into: y)
}

/// y[i] = x[i] (x in the planar form of `width`). x: n · width bytes, y: [n] Int64.
public func fixedUnpack(_ x: UnsafeRawBufferPointer, width: Int, into y: UnsafeMutableBufferPointer<Int64>) {
    fixedUnpack(FixedPlanes(packed: x, count: y.count, width: width), into: y)
}

/// y[i] = x[i]. x: n values, y: [n] Int64.
public func fixedUnpack(_ x: FixedPlanes, into y: UnsafeMutableBufferPointer<Int64>) {
    precondition(x.count == y.count, "fixedUnpack: \(x.count) values for \(y.count)")
    guard !y.isEmpty else { return }
    withPlaneWidths(x.width, 8, UnpackLoop(x: x, y: y))
}

private struct UnpackLoop: PlanePairLoop {
    let x: FixedPlanes
    let y: UnsafeMutableBufferPointer<Int64>

    /// X: x's width (the second width is unused).
    func run<X: PlaneWidth, Unused: PlaneWidth>(_: X.Type, _: Unused.Type) {
        let target = UnsafeMutableRawPointer(y.baseAddress!)
        var i = 0
        while i + 8 <= y.count {
            target.storeBytes(of: x.load8(X.self, at: i), toByteOffset: 8 * i, as: SIMD8<Int64>.self)
            i += 8
        }
        while i < y.count {
            y[i] = x.value(at: i)
            i += 1
        }
    }
}

// MARK: - Helpers

/// Bits a signed value of `x` needs at most (magnitude bits + sign bit); 1 for an empty or all-zero x.
func significantBits(_ x: UnsafeBufferPointer<Int64>) -> Int {
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
    var bits = bitwiseOr(folded)
    while i < n {
        bits |= x[i] ^ (x[i] >> 63)
        i += 1
    }
    return 64 - bits.leadingZeroBitCount + 1
}

/// The OR of all lanes.
@inline(__always)
func bitwiseOr(_ v: SIMD8<Int64>) -> Int64 {
    v[0] | v[1] | v[2] | v[3] | v[4] | v[5] | v[6] | v[7]
}

// The stdlib's SIMD integer conversions are generic calls that do not inline here; written out lane by
// lane, each becomes one extension or truncation instruction (vpmovsxbq, vpmovzxdq, vpmovqd, ...).

/// Each lane sign- or zero-extended (by the source type's signedness) to 64 bits.
@inline(__always)
func widened<T: FixedWidthInteger & SIMDScalar>(_ v: SIMD8<T>) -> SIMD8<Int64> {
    SIMD8<Int64>(Int64(v[0]), Int64(v[1]), Int64(v[2]), Int64(v[3]),
                 Int64(v[4]), Int64(v[5]), Int64(v[6]), Int64(v[7]))
}

/// Each lane's low bits.
@inline(__always)
func narrowed<T: FixedWidthInteger & SIMDScalar>(_ v: SIMD8<Int64>) -> SIMD8<T> {
    SIMD8<T>(T(truncatingIfNeeded: v[0]), T(truncatingIfNeeded: v[1]), T(truncatingIfNeeded: v[2]),
             T(truncatingIfNeeded: v[3]), T(truncatingIfNeeded: v[4]), T(truncatingIfNeeded: v[5]),
             T(truncatingIfNeeded: v[6]), T(truncatingIfNeeded: v[7]))
}

extension SIMD8 where Scalar: FixedWidthInteger {
    /// Lanes read from (or for) little-endian memory as host integers: a no-op on little-endian hosts.
    @inline(__always)
    var littleEndianLanes: SIMD8<Scalar> {
        #if _endian(little)
        return self
        #else
        var out = self
        for lane in 0..<8 { out[lane] = Scalar(littleEndian: self[lane]) }
        return out
        #endif
    }
}

// MARK: - References

/// Plain-loop reference of `fixedPackedWidth`: the first width whose signed range holds every value.
public func fixedPackedWidthReference(_ x: UnsafeBufferPointer<Int64>) -> Int {
    for width in [5, 6] {
        let limit = Int64(1) << (8 * width - 1)
        if x.allSatisfy({ $0 >= -limit && $0 < limit }) { return width }
    }
    return 8
}

/// Plain-loop reference of the planar form: value i of `x` (n values at `width`), assembled byte by byte.
public func fixedPackedValueReference(_ x: [UInt8], width: Int, count n: Int, at i: Int) -> Int64 {
    if width == 8 {
        return Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(x[8 * i + $1]) << (8 * $1) })
    }
    var value: UInt64 = 0
    for b in 0..<4 { value |= UInt64(x[4 * i + b]) << (8 * b) }
    let highBytes = width - 4
    for b in 0..<highBytes { value |= UInt64(x[4 * n + highBytes * i + b]) << (32 + 8 * b) }
    if value & (1 << (8 * width - 1)) != 0 { value |= ~0 << (8 * width) }   // sign-extend
    return Int64(bitPattern: value)
}

/// Plain-loop reference of `fixedPack` + `fixedAddPacked`: decode byte by byte, then the scalar add.
@discardableResult
public func fixedAddPackedReference(_ x: [UInt8], width: Int, into y: UnsafeMutableBufferPointer<Int64>) -> Bool {
    var ok = true
    for i in 0..<y.count {
        y[i] = fixedAddScalar(fixedPackedValueReference(x, width: width, count: y.count, at: i), y[i])
        ok = ok && y[i] != FixedPointFormat.poison
    }
    return ok
}
