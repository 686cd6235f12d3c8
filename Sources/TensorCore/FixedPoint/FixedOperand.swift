// MARK: - Operands of the fused sums: fixed-point planes, or floats converted as they are read
//
// Exact mode sums integers, but a rank that holds a single float gradient need not write them anywhere: its
// floats can travel as they are and be converted where they are added, to exactly the integers
// `fixedFromFloat` gives (out-of-range inputs become poison). So each operand of a fused sum
// (FixedPointFusedKernels.swift) is either planes or floats, and the loops are generic over both.
//
// Floats convert without taking them apart: widened to double (exact) and scaled by 2^f (exact), a value
// d = x · 2^f is rounded to an integer by adding 1.5 · 2^52, which leaves round(d) (ties to even) in the low
// mantissa bits when |d| < 2^51. Which way a block of `fixedOperandBlock` elements takes is decided by a scan
// of its magnitudes first (the block is then read again, from L1 or L2):
// - fast (`FastFloatLanes`), when every |d| < 2^51 (realistic gradients: |x| < 2^11 at the standard scale):
//   that addition alone; it cannot fail, and sums of such values cannot overflow.
// - general (`FloatLanes`), otherwise: beyond 2^51, d is already an integer, a multiple of 2^28 (24
//   significant bits), and adding 1.5 · 2^80 leaves d / 2^28 in the mantissa instead; every lane takes both
//   ways and keeps the right one, and |x| beyond the format's input limit (NaN and ±Inf included) gives poison.
// Both give the integers `fixedFromFloatScalarReference` gives, twice (general) and four times (fast) as fast
// as taking the float apart (sign, exponent, significand). Deciding before a block is read, rather than
// redoing a block where the fast way failed, lets a kernel write its result over a float operand (in-place
// all-reduce).
//
// Shapes: n elements; planes as in FixedPlanes.swift; floats n · 4 bytes, any alignment.

/// Elements per block of the operand kernels: its floats are scanned, then read again while in cache (two
/// float operands and the output: 48 KiB). 256 to 4096 ran at the same speed (`RingPeer kernels`).
let fixedOperandBlock = 4096

/// One operand of exact mode's fused sums.
public enum FixedOperand {
    /// Values already in fixed point, at width 5, 6 or 8.
    case planes(FixedPlanes)
    /// Float32 values (n · 4 bytes), each read as `round(x · 2^f)` of `format`, or poison if |x| is not below
    /// the format's input limit (NaN and ±Inf included).
    case floats(UnsafeRawBufferPointer, FixedPointFormat)

    /// Float32 values as an operand.
    public static func floats(_ values: UnsafeBufferPointer<Float>, format: FixedPointFormat) -> FixedOperand {
        .floats(UnsafeRawBufferPointer(values), format)
    }

    public var count: Int {
        switch self {
        case let .planes(planes): planes.count
        case let .floats(bytes, _): bytes.count / 4
        }
    }

    /// Elements `range` of the operand.
    public func slice(_ range: Range<Int>) -> FixedOperand {
        switch self {
        case let .planes(planes): .planes(planes.slice(range))
        case let .floats(bytes, format):
            .floats(UnsafeRawBufferPointer(rebasing: bytes[(4 * range.lowerBound)..<(4 * range.upperBound)]), format)
        }
    }
}

/// Runs `body` on consecutive blocks of `fixedOperandBlock` elements of 0..<count; true if every call was.
@inline(__always)
func forEachOperandBlock(_ count: Int, _ body: (Range<Int>) -> Bool) -> Bool {
    var ok = true
    var start = 0
    while start < count {
        let end = min(start + fixedOperandBlock, count)
        ok = body(start..<end) && ok
        start = end
    }
    return ok
}

/// Whether every float of `bytes` converts the fast way in `format`: |x| below both the input limit and
/// 2^(51 - f) (so |x · 2^f| < 2^51), which also excludes NaN and ±Inf. Compares magnitude bits as integers.
func convertsFast(_ bytes: UnsafeRawBufferPointer, format: FixedPointFormat) -> Bool {
    // The limit's bit pattern, 2^e with e = min(m, 51 - f), built directly (this runs once per block).
    let exponent = max(min(format.inputMagnitudeBits, 51 - format.fractionBits), -126)
    let limitBits = UInt32(exponent + 127) << 23
    let n = bytes.count / 4
    guard let base = bytes.baseAddress else { return true }
    @inline(__always)
    func magnitudes(at i: Int) -> SIMD16<UInt32> {
        base.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<UInt32>.self) & 0x7FFF_FFFF
    }
    @inline(__always)
    func larger(_ a: SIMD16<UInt32>, _ b: SIMD16<UInt32>) -> SIMD16<UInt32> {
        a.replacing(with: b, where: b .> a)   // (the stdlib's pointwiseMax is a call that does not inline)
    }
    // Four independent maxima, so that the loop is not one dependency chain.
    var largest = (SIMD16<UInt32>(), SIMD16<UInt32>(), SIMD16<UInt32>(), SIMD16<UInt32>())
    var i = 0
    while i + 64 <= n {
        largest.0 = larger(largest.0, magnitudes(at: i))
        largest.1 = larger(largest.1, magnitudes(at: i + 16))
        largest.2 = larger(largest.2, magnitudes(at: i + 32))
        largest.3 = larger(largest.3, magnitudes(at: i + 48))
        i += 64
    }
    while i + 16 <= n {
        largest.0 = larger(largest.0, magnitudes(at: i))
        i += 16
    }
    var tail: UInt32 = 0
    while i < n {
        tail = max(tail, base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) & 0x7FFF_FFFF)
        i += 1
    }
    return max(larger(larger(largest.0, largest.1), larger(largest.2, largest.3)).max(), tail) < limitBits
}

// MARK: - Lane sources, specialised per kind of operand

/// Where a fused loop reads its operand's values, eight at a time, with the operand's kind known at compile
/// time (a kind tested inside the loop costs about a third of its speed, as for plane widths).
protocol FixedLanes {
    /// Values may reach 2^63 in magnitude or be poison (8-byte planes): adding them needs the full test.
    static var wide: Bool { get }
    /// Values may be poison although the operand is not wide (out-of-range floats).
    static var mayFail: Bool { get }
    /// Values i..<i+8 and all-ones lanes where they are poison (always zero unless `wide` or `mayFail`).
    func load8(at i: Int) -> (values: SIMD8<Int64>, failed: SIMD8<Int64>)
    /// Value i.
    func value(at i: Int) -> Int64
}

/// Planes of the width W.
struct PlaneLanes<W: PlaneWidth>: FixedLanes {
    let planes: FixedPlanes

    static var wide: Bool { W.bytes == 8 }
    static var mayFail: Bool { false }

    @inline(__always)
    func load8(at i: Int) -> (values: SIMD8<Int64>, failed: SIMD8<Int64>) {
        let values = planes.load8(W.self, at: i)
        guard W.bytes == 8 else { return (values, SIMD8<Int64>()) }
        let t = values ^ SIMD8<Int64>(repeating: FixedPointFormat.poison)   // zero exactly for poison
        return (values, ~((t | (0 &- t)) &>> 63))
    }

    @inline(__always)
    func value(at i: Int) -> Int64 { planes.value(at: i) }
}

/// Floats converted the fast way (every value qualifies: `convertsFast`). Their integers stay below 2^51 in
/// magnitude, so no sum of two of them, or of one and a value that is not wide, can overflow.
struct FastFloatLanes: FixedLanes {
    let base: UnsafeRawPointer?
    let scale: Double

    static var wide: Bool { false }
    static var mayFail: Bool { false }

    @inline(__always)
    func load8(at i: Int) -> (values: SIMD8<Int64>, failed: SIMD8<Int64>) {
        let v = base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
        let bias = SIMD8<Double>(repeating: 0x1.8p52)
        let rounded = bias.addingProduct(doubles(v), SIMD8<Double>(repeating: scale))
        return (unsafeBitCast(rounded, to: SIMD8<Int64>.self) &- unsafeBitCast(bias, to: SIMD8<Int64>.self),
                SIMD8<Int64>())
    }

    @inline(__always)
    func value(at i: Int) -> Int64 {
        let x = Double(base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: 4 * i, as: Float.self))
        let bias = Double(0x1.8p52)
        return Int64(bitPattern: (x * scale + bias).bitPattern) &- Int64(bitPattern: bias.bitPattern)
    }
}

/// Floats converted the general way. Their integers are at most 2^62 in magnitude (f + m <= 62, and only below
/// 2^24 can rounding reach the limit), so adding one to a value that is not wide cannot overflow.
struct FloatLanes: FixedLanes {
    let base: UnsafeRawPointer?
    let scale: Double
    /// 2^(f + m): |x · 2^f| must stay below it.
    let limit: Double

    static var wide: Bool { false }
    static var mayFail: Bool { true }

    @inline(__always)
    func load8(at i: Int) -> (values: SIMD8<Int64>, failed: SIMD8<Int64>) {
        fixedLanes(fromFloats: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self),
                   scale: scale, limit: limit)
    }

    @inline(__always)
    func value(at i: Int) -> Int64 {
        let x = base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)
        return fixedFromFloatScalar(x, scale: Float(scale), limit: Float(limit / scale))
    }
}

/// round(v · scale) per lane (ties to even), or poison where |v · scale| is not below `limit` (NaN included);
/// `failed` is all ones in those lanes. scale = 2^f, limit = 2^(f + m) (see the top of the file).
@inline(__always)
func fixedLanes(fromFloats v: SIMD8<Float>, scale: Double,
                limit: Double) -> (values: SIMD8<Int64>, failed: SIMD8<Int64>) {
    let d = doubles(v) * scale
    let smallBias = SIMD8<Double>(repeating: 0x1.8p52), largeBias = SIMD8<Double>(repeating: 0x1.8p80)
    let small = unsafeBitCast(d + smallBias, to: SIMD8<Int64>.self)
        &- unsafeBitCast(smallBias, to: SIMD8<Int64>.self)
    let large = (unsafeBitCast(d + largeBias, to: SIMD8<Int64>.self)
                 &- unsafeBitCast(largeBias, to: SIMD8<Int64>.self)) &<< 28   // d / 2^28, back in place
    let magnitude = d.replacing(with: -d, where: d .< 0)
    let outOfRange = .!(magnitude .< limit)
    let values = small.replacing(with: large, where: magnitude .>= 0x1p51)
    return (values.replacing(with: FixedPointFormat.poison, where: outOfRange),
            SIMD8<Int64>().replacing(with: -1, where: outOfRange))
}

/// Each lane widened to double (exact), written out so that it becomes one conversion instruction.
@inline(__always)
private func doubles(_ v: SIMD8<Float>) -> SIMD8<Double> {
    SIMD8<Double>(Double(v[0]), Double(v[1]), Double(v[2]), Double(v[3]),
                  Double(v[4]), Double(v[5]), Double(v[6]), Double(v[7]))
}

/// Zeros: the second operand of a one-operand kernel written as a sum (`fixedToFloat`).
struct ZeroLanes: FixedLanes {
    static var wide: Bool { false }
    static var mayFail: Bool { false }

    @inline(__always)
    func load8(at i: Int) -> (values: SIMD8<Int64>, failed: SIMD8<Int64>) { (SIMD8<Int64>(), SIMD8<Int64>()) }

    @inline(__always)
    func value(at i: Int) -> Int64 { 0 }
}

/// a + b per lane for two lane sources, with poison where the sum overflows or either value is poison
/// (`failed`: all ones there). Only a wide operand needs the general test; two that are not wide cannot
/// overflow, so their sum is a plain add, plus a select where a float was out of range.
@inline(__always)
func fixedAddLanes<A: FixedLanes, B: FixedLanes>(_ a: A, _ b: B, at i: Int) -> (sum: SIMD8<Int64>,
                                                                               failed: SIMD8<Int64>) {
    let (x, xFailed) = a.load8(at: i)
    let (y, yFailed) = b.load8(at: i)
    if A.wide || B.wide { return fixedAddLanes(x, y) }
    if !A.mayFail && !B.mayFail { return (x &+ y, SIMD8<Int64>()) }
    let failed = xFailed | yFailed
    return (((x &+ y) & ~failed) | (SIMD8<Int64>(repeating: FixedPointFormat.poison) & failed), failed)
}

// MARK: - Dispatch: one specialisation per pair of operand kinds

/// A kernel loop over one lane source.
protocol FixedLanesLoop {
    associatedtype Result
    func run<A: FixedLanes>(_ a: A) -> Result
}

/// A kernel loop over two lane sources.
protocol FixedLanesPairLoop {
    associatedtype Result
    func run<A: FixedLanes, B: FixedLanes>(_ a: A, _ b: B) -> Result
}

/// Runs `loop` specialised for the kind of `operand`: planes of width 5, 6 or 8, or floats converted the fast
/// or the general way (as the operand's values allow).
@inline(__always)
func withLanes<L: FixedLanesLoop>(_ operand: FixedOperand, _ loop: L) -> L.Result {
    switch operand {
    case let .floats(bytes, format):
        let scale = Double(format.scale)
        if convertsFast(bytes, format: format) {
            return loop.run(FastFloatLanes(base: bytes.baseAddress, scale: scale))
        }
        return loop.run(FloatLanes(base: bytes.baseAddress, scale: scale, limit: scale * Double(format.inputLimit)))
    case let .planes(planes):
        switch planes.width {
        case 5: return loop.run(PlaneLanes<PlaneWidth5>(planes: planes))
        case 6: return loop.run(PlaneLanes<PlaneWidth6>(planes: planes))
        default: return loop.run(PlaneLanes<PlaneWidth8>(planes: planes))
        }
    }
}

/// Runs `loop` specialised for the kinds of `a` and `b`.
@inline(__always)
func withLanes<L: FixedLanesPairLoop>(_ a: FixedOperand, _ b: FixedOperand, _ loop: L) -> L.Result {
    withLanes(a, SecondOperand(loop: loop, b: b))
}

/// The first operand's kind is known; dispatches on the second's.
private struct SecondOperand<L: FixedLanesPairLoop>: FixedLanesLoop {
    let loop: L
    let b: FixedOperand

    @inline(__always)
    func run<A: FixedLanes>(_ a: A) -> L.Result { withLanes(b, BothOperands(loop: loop, a: a)) }
}

private struct BothOperands<L: FixedLanesPairLoop, A: FixedLanes>: FixedLanesLoop {
    let loop: L
    let a: A

    @inline(__always)
    func run<B: FixedLanes>(_ b: B) -> L.Result { loop.run(a, b) }
}
