// MARK: - Fixed-point values in planar form, as views
//
// The planar form (FixedPointPacking.swift) keeps the two parts of every value in separate planes: at width 5
// or 6 a `low` plane of n UInt32 and a `high` plane of n Int8 or Int16 (sign-extended, value = high · 2^32 +
// low); at width 8 the `low` plane is the n Int64 values themselves and there is no high plane. All
// little-endian, any alignment.
//
// Kernels take planes rather than one buffer so that the two planes may live apart: a contiguous packed chunk
// ([low][high]), two frames received from the ring, or slices of a `FixedPointAccumulator`'s wire image.

/// Read-only planes of `count` fixed-point values at `width` bytes per value (5, 6 or 8).
public struct FixedPlanes {
    public let count: Int
    public let width: Int
    let low: UnsafeRawPointer?
    let high: UnsafeRawPointer?

    /// Planes from two buffers: low is count · 4 bytes and high count · (width - 4), or at width 8 low is
    /// count · 8 bytes and high is empty.
    public init(low: UnsafeRawBufferPointer, high: UnsafeRawBufferPointer, width: Int) {
        precondition(fixedPackedWidths.contains(width), "FixedPlanes: width \(width)")
        let count = low.count / (width == 8 ? 8 : 4)
        precondition(low.count == count * (width == 8 ? 8 : 4) && high.count == (width == 8 ? 0 : count * (width - 4)),
                     "FixedPlanes: \(low.count) + \(high.count) bytes do not make planes of width \(width)")
        self.count = count
        self.width = width
        self.low = low.baseAddress
        self.high = width == 8 ? nil : high.baseAddress
    }

    /// Planes of one contiguous packed buffer (`fixedPack`): count · width bytes.
    public init(packed: UnsafeRawBufferPointer, count: Int, width: Int) {
        precondition(fixedPackedWidths.contains(width) && packed.count == count * width,
                     "FixedPlanes: \(packed.count) bytes for \(count) elements of width \(width)")
        let lowBytes = width == 8 ? 8 * count : 4 * count
        self.init(low: UnsafeRawBufferPointer(rebasing: packed[0..<lowBytes]),
                  high: UnsafeRawBufferPointer(rebasing: packed[lowBytes...]), width: width)
    }

    /// Plain 64-bit values seen as planes of width 8.
    public init(_ values: UnsafeBufferPointer<Int64>) {
        self.init(low: UnsafeRawBufferPointer(values), high: UnsafeRawBufferPointer(start: nil, count: 0), width: 8)
    }

    init(count: Int, width: Int, low: UnsafeRawPointer?, high: UnsafeRawPointer?) {
        self.count = count
        self.width = width
        self.low = low
        self.high = high
    }

    /// The low plane's bytes (the values themselves at width 8).
    public var lowPlane: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: low, count: count * (width == 8 ? 8 : 4))
    }

    /// The high plane's bytes (empty at width 8).
    public var highPlane: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: high, count: width == 8 ? 0 : count * (width - 4))
    }

    /// Values `range` of these planes.
    public func slice(_ range: Range<Int>) -> FixedPlanes {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "FixedPlanes: \(range) outside 0..<\(count)")
        let lowStride = width == 8 ? 8 : 4
        return FixedPlanes(count: range.count, width: width, low: low.map { $0 + range.lowerBound * lowStride },
                           high: high.map { $0 + range.lowerBound * (width - 4) })
    }
}

/// Writable planes (see `FixedPlanes`).
public struct MutableFixedPlanes {
    /// The same planes, read-only.
    public let readOnly: FixedPlanes

    /// Planes into two buffers, sized as in `FixedPlanes.init(low:high:width:)`.
    public init(low: UnsafeMutableRawBufferPointer, high: UnsafeMutableRawBufferPointer, width: Int) {
        readOnly = FixedPlanes(low: UnsafeRawBufferPointer(low), high: UnsafeRawBufferPointer(high), width: width)
    }

    /// Planes of one contiguous packed buffer: count · width bytes.
    public init(packed: UnsafeMutableRawBufferPointer, count: Int, width: Int) {
        readOnly = FixedPlanes(packed: UnsafeRawBufferPointer(packed), count: count, width: width)
    }

    public var count: Int { readOnly.count }
    public var width: Int { readOnly.width }
    var low: UnsafeMutableRawPointer? { readOnly.low.map { UnsafeMutableRawPointer(mutating: $0) } }
    var high: UnsafeMutableRawPointer? { readOnly.high.map { UnsafeMutableRawPointer(mutating: $0) } }

    /// Values `range` of these planes.
    public func slice(_ range: Range<Int>) -> MutableFixedPlanes {
        MutableFixedPlanes(readOnly: readOnly.slice(range))
    }

    private init(readOnly: FixedPlanes) {
        self.readOnly = readOnly
    }
}

// MARK: - Widths known at compile time
//
// A width tested inside a kernel's loop cost about a third of its speed (LLVM does not unswitch it), so the
// loops are generic over the widths of their operands and `withPlaneWidths` picks the specialisation once.

/// A plane width as a type: 5, 6 or 8 bytes per value.
protocol PlaneWidth {
    static var bytes: Int { get }
}

enum PlaneWidth5: PlaneWidth { static var bytes: Int { 5 } }
enum PlaneWidth6: PlaneWidth { static var bytes: Int { 6 } }
enum PlaneWidth8: PlaneWidth { static var bytes: Int { 8 } }

/// A kernel loop over two operands of statically known widths.
protocol PlanePairLoop {
    associatedtype Result
    func run<A: PlaneWidth, B: PlaneWidth>(_ a: A.Type, _ b: B.Type) -> Result
}

/// Runs `loop` specialised for the widths `a` and `b` (each 5, 6 or 8).
@inline(__always)
func withPlaneWidths<L: PlanePairLoop>(_ a: Int, _ b: Int, _ loop: L) -> L.Result {
    switch (a, b) {
    case (5, 5): loop.run(PlaneWidth5.self, PlaneWidth5.self)
    case (5, 6): loop.run(PlaneWidth5.self, PlaneWidth6.self)
    case (5, _): loop.run(PlaneWidth5.self, PlaneWidth8.self)
    case (6, 5): loop.run(PlaneWidth6.self, PlaneWidth5.self)
    case (6, 6): loop.run(PlaneWidth6.self, PlaneWidth6.self)
    case (6, _): loop.run(PlaneWidth6.self, PlaneWidth8.self)
    case (_, 5): loop.run(PlaneWidth8.self, PlaneWidth5.self)
    case (_, 6): loop.run(PlaneWidth8.self, PlaneWidth6.self)
    default: loop.run(PlaneWidth8.self, PlaneWidth8.self)
    }
}

// MARK: - Element access, eight at a time and one by one

extension FixedPlanes {
    /// Values i..<i+8; W must be this view's width.
    @inline(__always)
    func load8<W: PlaneWidth>(_: W.Type, at i: Int) -> SIMD8<Int64> {
        let low = self.low.unsafelyUnwrapped
        switch W.bytes {
        case 8: return low.loadUnaligned(fromByteOffset: 8 * i, as: SIMD8<Int64>.self).littleEndianLanes
        case 5:
            let lows = widened(low.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<UInt32>.self).littleEndianLanes)
            return widened(high.unsafelyUnwrapped.loadUnaligned(fromByteOffset: i, as: SIMD8<Int8>.self)) &<< 32 | lows
        default:
            let lows = widened(low.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<UInt32>.self).littleEndianLanes)
            let highs = high.unsafelyUnwrapped.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<Int16>.self)
            return widened(highs.littleEndianLanes) &<< 32 | lows
        }
    }

    /// Value i.
    @inline(__always)
    func value(at i: Int) -> Int64 {
        let low = self.low.unsafelyUnwrapped
        if width == 8 { return Int64(littleEndian: low.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
        let lows = Int64(UInt32(littleEndian: low.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        let high = self.high.unsafelyUnwrapped
        let highs = width == 5 ? Int64(high.loadUnaligned(fromByteOffset: i, as: Int8.self))
                               : Int64(Int16(littleEndian: high.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
        return highs << 32 | lows
    }
}

extension MutableFixedPlanes {
    /// Stores values i..<i+8 (they must fit the width; otherwise their high bits are cut off); W must be this
    /// view's width.
    @inline(__always)
    func store8<W: PlaneWidth>(_ v: SIMD8<Int64>, _: W.Type, at i: Int) {
        let low = self.low.unsafelyUnwrapped
        switch W.bytes {
        case 8: low.storeBytes(of: v.littleEndianLanes, toByteOffset: 8 * i, as: SIMD8<Int64>.self)
        case 5:
            let lows: SIMD8<UInt32> = narrowed(v)
            low.storeBytes(of: lows.littleEndianLanes, toByteOffset: 4 * i, as: SIMD8<UInt32>.self)
            let highs: SIMD8<Int8> = narrowed(v &>> 32)
            high.unsafelyUnwrapped.storeBytes(of: highs, toByteOffset: i, as: SIMD8<Int8>.self)
        default:
            let lows: SIMD8<UInt32> = narrowed(v)
            low.storeBytes(of: lows.littleEndianLanes, toByteOffset: 4 * i, as: SIMD8<UInt32>.self)
            let highs: SIMD8<Int16> = narrowed(v &>> 32)
            high.unsafelyUnwrapped.storeBytes(of: highs.littleEndianLanes, toByteOffset: 2 * i, as: SIMD8<Int16>.self)
        }
    }

    /// Stores value i (as `store8`).
    @inline(__always)
    func store(_ v: Int64, at i: Int) {
        let low = self.low.unsafelyUnwrapped
        if width == 8 {
            low.storeBytes(of: v.littleEndian, toByteOffset: 8 * i, as: Int64.self)
            return
        }
        low.storeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian, toByteOffset: 4 * i, as: UInt32.self)
        let high = self.high.unsafelyUnwrapped
        if width == 5 {
            high.storeBytes(of: Int8(truncatingIfNeeded: v >> 32), toByteOffset: i, as: Int8.self)
        } else {
            high.storeBytes(of: Int16(truncatingIfNeeded: v >> 32).littleEndian, toByteOffset: 2 * i, as: Int16.self)
        }
    }
}
