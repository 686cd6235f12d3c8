import TensorCore
import Testing
import TestSupport

/// Kernels over planes that live apart (as received frames and the accumulator's wire image do), at every pair
/// of widths, against the plain integer loop; and the accumulator's wire image.
@Suite("Fixed point planes")
struct FixedPlanesTests {
    /// Separately allocated planes of `x` at `width`, packed byte by byte (the reference packing).
    final class Planes {
        var low: [UInt8]
        var high: [UInt8]
        let width: Int

        init(_ x: [Int64], width: Int) {
            var packed = [UInt8](repeating: 0, count: x.count * width)
            let fits = x.withUnsafeBufferPointer { xs in
                packed.withUnsafeMutableBytes { fixedPackIfFitsReference(xs, width: width, into: $0) } }
            precondition(fits, "test data must fit width \(width)")
            let lowBytes = width == 8 ? 8 * x.count : 4 * x.count
            low = Array(packed[..<lowBytes])
            high = Array(packed[lowBytes...])
            self.width = width
        }

        func withPlanes<R>(_ body: (FixedPlanes) -> R) -> R {
            low.withUnsafeBytes { l in high.withUnsafeBytes { h in body(FixedPlanes(low: l, high: h, width: width)) } }
        }
    }

    /// Values that fit `width`, some at its limits; at width 8 also poison and sums that overflow 64 bits.
    static func values(_ n: Int, width: Int, tag: UInt32) -> [Int64] {
        var x = FixedPointPackingTests.values(n, bits: 8 * width, tag: tag)
        if n > 2 {   // the extremes (at width 8 the lowest value is poison: one above it)
            x[1] = width == 8 ? .max : (1 << (8 * width - 1)) - 1
            x[2] = width == 8 ? .min + 1 : -(1 << (8 * width - 1))
        }
        if n > 4, width == 8 { x[4] = FixedPointFormat.poison }
        return x
    }

    @Test("sum, sum-and-pack and sum-to-float of planes at every width pair equal the plain integer loop",
          arguments: [0, 1, 7, 8, 9, 31, 1000, 4099])
    func sums(n: Int) {
        let format = FixedPointFormat.standard
        for wa in fixedPackedWidths {
            for wb in fixedPackedWidths {
                // Small values too (as gradients are), so that packing the sums at 5 bytes sometimes succeeds.
                for small in [false, true] {
                    let a = small ? FixedPointPackingTests.values(n, bits: 38, tag: UInt32(10 * wa))
                                  : Self.values(n, width: wa, tag: UInt32(10 * wa + wb))
                    let b = small ? FixedPointPackingTests.values(n, bits: 38, tag: UInt32(10 * wb + 1))
                                  : Self.values(n, width: wb, tag: UInt32(100 + 10 * wa + wb))
                    check(a, wa, b, wb, format: format, "n \(n), widths \(wa) + \(wb), small \(small)")
                }
            }
        }
    }

    private func check(_ a: [Int64], _ wa: Int, _ b: [Int64], _ wb: Int, format: FixedPointFormat,
                       _ label: String) {
        let n = a.count
        let expected = zip(a, b).map { fixedAddScalarReference($0, $1) }
        let pa = Planes(a, width: wa), pb = Planes(b, width: wb)
        var sums = [Int64](repeating: 3, count: n)
        let ok = pa.withPlanes { x in pb.withPlanes { y in
            sums.withUnsafeMutableBufferPointer { fixedSum(x, y, into: $0) } } }
        #expect(sums == expected && ok == !expected.contains(FixedPointFormat.poison), "fixedSum, \(label)")

        var floats = [Float](repeating: 1, count: n), reference = floats
        let okFloat = pa.withPlanes { x in pb.withPlanes { y in floats.withUnsafeMutableBufferPointer {
            fixedSumToFloat(x, y, into: $0, format: format) } } }
        _ = expected.withUnsafeBufferPointer { e in reference.withUnsafeMutableBufferPointer {
            floatFromFixedReference(e, $0, format: format) } }
        let same = zip(floats, reference).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
        #expect(same && okFloat == ok, "fixedSumToFloat, \(label)")

        var low = [UInt8](repeating: 0xEE, count: 4 * n), high = [UInt8](repeating: 0xEE, count: n)
        let fits = pa.withPlanes { x in pb.withPlanes { y in low.withUnsafeMutableBytes { l in
            high.withUnsafeMutableBytes { h in
                fixedSumPackIfFits(x, y, into: MutableFixedPlanes(low: l, high: h, width: 5)) } } } }
        let shouldFit = expected.allSatisfy { $0 >= -(1 << 39) && $0 < 1 << 39 }
        #expect(fits == shouldFit, "fixedSumPackIfFits fit test, \(label)")
        if fits {
            let decoded = (0..<n).map { fixedPackedValueReference(low + high, width: 5, count: n, at: $0) }
            #expect(decoded == expected, "fixedSumPackIfFits values, \(label)")
        }
    }

    @Test("a slice of planes reads the same values as the whole, at every width")
    func slices() {
        let n = 1001
        for width in fixedPackedWidths {
            let x = Self.values(n, width: width, tag: 77)
            let planes = Planes(x, width: width)
            for range in [0..<0, 0..<n, 3..<11, 500..<1001, 999..<1000] {
                var out = [Int64](repeating: 0, count: range.count)
                planes.withPlanes { p in out.withUnsafeMutableBufferPointer { fixedUnpack(p.slice(range), into: $0) } }
                #expect(out == Array(x[range]), "width \(width), \(range)")
            }
        }
    }

    // MARK: - The accumulator's wire image

    /// The values of `range` read through the wire image, or nil if it has none there.
    static func imageValues(_ accumulator: FixedPointAccumulator, _ range: Range<Int>) -> [Int64]? {
        guard let image = accumulator.wireImage(range) else { return nil }
        var out = [Int64](repeating: 0, count: range.count)
        out.withUnsafeMutableBufferPointer { fixedUnpack(image, into: $0) }
        return out
    }

    static func values(_ accumulator: FixedPointAccumulator, _ range: Range<Int>) -> [Int64] {
        accumulator.withValues { Array($0[range]) }
    }

    @Test("the wire image holds exactly the integers, refuses blocks needing over 5 bytes, is stale after writes")
    func wireImage() throws {
        let count = 10_000   // blocks of 2048: the value at 5000 spoils 4096..<6144
        let accumulator = FixedPointAccumulator(count: count)
        let first = gradientLikeValues(count, tag: 1, highExponent: -2)   // |g| < 0.25: fits 5 bytes
        try first.withUnsafeBufferPointer { try accumulator.add($0) }
        #expect(Self.imageValues(accumulator, 0..<count) == Self.values(accumulator, 0..<count))

        var second = gradientLikeValues(count, tag: 2, highExponent: -2)
        second[5000] = 0.75   // 0.75 + |first| > 2^-1: needs 6 bytes
        try second.withUnsafeBufferPointer { try accumulator.add($0) }
        for range in [0..<4096, 6144..<count, 100..<200] {
            #expect(Self.imageValues(accumulator, range) == Self.values(accumulator, range), "\(range)")
        }
        #expect(Self.imageValues(accumulator, 4000..<4200) == nil)
        #expect(Self.imageValues(accumulator, 5000..<5001) == nil)

        // A bucket added on its own (as backward produces it) refreshes its part of the image.
        let bucket = gradientLikeValues(300, tag: 3, highExponent: -3)
        try bucket.withUnsafeBufferPointer { try accumulator.add($0, at: 7000) }
        #expect(Self.imageValues(accumulator, 6900..<7400) == Self.values(accumulator, 6900..<7400))

        accumulator.withMutableValues { $0[10] = 1 }
        #expect(Self.imageValues(accumulator, 0..<100) == nil, "stale after writable access")
        accumulator.reset()
        try first.withUnsafeBufferPointer { try accumulator.add($0) }
        #expect(Self.imageValues(accumulator, 0..<count) == Self.values(accumulator, 0..<count), "fresh after reset")
        let copy = FixedPointAccumulator(count: count)
        try copy.add(accumulator)
        #expect(Self.imageValues(copy, 0..<count) == Self.values(accumulator, 0..<count), "image of a summed copy")
        let cleared = FixedPointAccumulator(count: count)
        #expect(Self.imageValues(cleared, 0..<count) == [Int64](repeating: 0, count: count), "zeros")
    }
}

/// The plain scalar sum with poison (what every kernel must match; FixedOperandTests too).
func fixedAddScalarReference(_ a: Int64, _ b: Int64) -> Int64 {
    guard a != FixedPointFormat.poison, b != FixedPointFormat.poison else { return FixedPointFormat.poison }
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? FixedPointFormat.poison : sum
}
