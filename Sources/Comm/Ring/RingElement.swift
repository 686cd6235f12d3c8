import TensorCore
import Wire

// MARK: - What the ring reduces, and how each element type travels

/// A chunk's payload as the ring receives it: one plane (float32, or fixed point at 8 bytes) or two (fixed point
/// at 5 or 6 bytes: the low 4 bytes of every element, then the high parts; TensorCore `FixedPlanes`).
public struct RingPayload {
    public var first: UnsafeRawBufferPointer
    public var second: UnsafeRawBufferPointer

    public init(first: UnsafeRawBufferPointer,
                second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        self.first = first
        self.second = second
    }

    /// Bytes of each payload frame of `count` elements at wire width `width`.
    public static func planeBytes(width: UInt32, count: Int) -> [Int] {
        width == 5 || width == 6 ? [4 * count, (Int(width) - 4) * count] : [Int(width) * count]
    }

    /// The payload as fixed-point planes of `width` (5, 6 or 8).
    func fixedPlanes(width: UInt32) -> FixedPlanes {
        FixedPlanes(low: first, high: second, width: Int(width))
    }
}

/// Element types the ring can reduce: `Float` (float mode) and `Int64` (exact mode, fixed point).
public protocol RingElement: BitwiseCopyable {
    /// Bytes per element in memory, and the widest wire width (`RingChunkHeader.elementBytes`).
    static var wireBytes: UInt32 { get }
    /// Wire widths a receiver accepts for this element type.
    static var acceptedWireBytes: [UInt32] { get }
    /// `values` packed narrower than `wireBytes` (its payload frames) and the width used, or nil to send them
    /// as they are (zero-copy). Narrower only if nothing is lost.
    static func packedForWire(_ values: UnsafeBufferPointer<Self>) -> (frames: [Frame], width: UInt32)?
    /// target[i] += source[i]; source: `target.count` elements at wire width `width`.
    static func reduce(_ source: RingPayload, width: UInt32, into target: UnsafeMutableBufferPointer<Self>)
    /// target[i] = source[i]; source as in `reduce`.
    static func store(_ source: RingPayload, width: UInt32, into target: UnsafeMutableBufferPointer<Self>)
}

extension Float: RingElement {
    public static var wireBytes: UInt32 { 4 }
    public static let acceptedWireBytes: [UInt32] = [4]
    public static func packedForWire(_ values: UnsafeBufferPointer<Float>) -> (frames: [Frame], width: UInt32)? {
        nil
    }
    public static func reduce(_ source: RingPayload, width: UInt32, into target: UnsafeMutableBufferPointer<Float>) {
        floatAdd(source.first, into: target)
    }
    public static func store(_ source: RingPayload, width: UInt32, into target: UnsafeMutableBufferPointer<Float>) {
        UnsafeMutableRawBufferPointer(target).copyMemory(from: source.first)
    }
}

/// Fixed point travels at the narrowest width of 5, 6 or 8 bytes that holds the chunk (`fixedPackedWidth`,
/// planar form): realistic gradients need 5, so exact mode's reduce-scatter moves 5/8 of the bytes, exactly.
extension Int64: RingElement {
    public static var wireBytes: UInt32 { 8 }
    public static let acceptedWireBytes: [UInt32] = fixedPackedWidths.map(UInt32.init)
    /// One pass at the usual width 5 (`fixedPackIfFits`); only a chunk that does not fit is scanned for its
    /// width (`fixedPackedWidth`) and packed again. Width 8 goes zero-copy.
    public static func packedForWire(_ values: UnsafeBufferPointer<Int64>) -> (frames: [Frame], width: UInt32)? {
        if let frames = fixedPlaneFrames(count: values.count, width: 5, { fixedPackIfFits(values, into: $0) }) {
            return (frames, 5)
        }
        return fixedPackedNarrowest(values)
    }

    /// Overflow becomes sticky poison; `floatFromFixed` reports it after the collective.
    public static func reduce(_ source: RingPayload, width: UInt32, into target: UnsafeMutableBufferPointer<Int64>) {
        fixedSum(source.fixedPlanes(width: width), FixedPlanes(UnsafeBufferPointer(target)), into: target)
    }
    public static func store(_ source: RingPayload, width: UInt32, into target: UnsafeMutableBufferPointer<Int64>) {
        fixedUnpack(source.fixedPlanes(width: width), into: target)
    }
}

/// `values` packed at the narrowest width that holds them (`fixedPackedWidth`), or nil if that is 8 bytes.
func fixedPackedNarrowest(_ values: UnsafeBufferPointer<Int64>) -> (frames: [Frame], width: UInt32)? {
    let width = fixedPackedWidth(values)
    guard width < 8 else { return nil }
    return (fixedPlaneFrames(count: values.count, width: width) { fixedPackIfFits(values, into: $0) }!, UInt32(width))
}

/// The two payload frames (low and high planes) of `count` fixed-point values at width 5 or 6, filled by
/// `fill`; nil if `fill` reports that the values do not fit.
func fixedPlaneFrames(count: Int, width: Int, _ fill: (MutableFixedPlanes) -> Bool) -> [Frame]? {
    var high: Frame?, fits = false
    let low = Frame(count: 4 * count) { lowBytes in
        high = Frame(count: (width - 4) * count) { highBytes in
            fits = fill(MutableFixedPlanes(low: lowBytes, high: highBytes, width: width))
        }
    }
    return fits ? [low, high!] : nil
}
