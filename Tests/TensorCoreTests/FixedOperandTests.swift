import TensorCore
import Testing
import TestSupport

/// The fused sums with float operands (converted as they are read, fast or general way per block) against the
/// plain definition: `fixedFromFloatScalarReference`, then the integer sum with poison.
@Suite("Fixed point operands")
struct FixedOperandTests {
    /// Counts around the vector width of 8 and block sizes of 1024 and 4096, and one of several blocks.
    static let lengths = [0, 1, 7, 8, 9, 1000, 1023, 1024, 1025, 3000, 4095, 4096, 4097, 9000]

    /// Gradient-like floats (converted the fast way) with values that need the general way at indices 1024 to
    /// 1579: above 2^11, at the input limit, NaN, ±Inf, ties, subnormals and signed zeros (and 2^17 at 2999).
    /// So with 9000 values, kernels of any block size up to 4096 take both ways.
    static func floats(_ n: Int, tag: UInt32) -> [Float] {
        var x = gradientLikeValues(n, tag: tag, highExponent: -1)
        let tie = Float(sign: .plus, exponent: -41, significand: 1)   // half a step of 2^-40: ties to even
        let special: [Float] = [3 * tie, -3 * tie, 5 * tie, -0.0, .leastNonzeroMagnitude, 2047.999, 2048, -2048,
                                3000.25, 131_071.99, 262_143.98, -262_143.98, 262_144, .nan, .infinity, -.infinity]
        for (k, value) in special.enumerated() where 1024 + 37 * k < n { x[1024 + 37 * k] = value }
        if n > 3000 { x[2999] = 0x1p17 }
        return x
    }

    /// Fixed-point values of `width` for the planes operand (narrow ones, so that packed sums often fit 5 bytes).
    static func integers(_ n: Int, width: Int, tag: UInt32) -> [Int64] {
        width == 8 ? FixedPlanesTests.values(n, width: 8, tag: tag)
                   : FixedPointPackingTests.values(n, bits: 8 * width - 3, tag: tag)
    }

    @Test("sums of a float operand and planes of every width, or of two float operands, equal the plain loop",
          arguments: lengths)
    func sums(n: Int) {
        let format = FixedPointFormat.standard
        let a = Self.floats(n, tag: 1)
        let aFixed = a.map { fixedFromFloatScalarReference($0, format: format) }
        for width in fixedPackedWidths {
            let b = Self.integers(n, width: width, tag: UInt32(width))
            let planes = FixedPlanesTests.Planes(b, width: width)
            a.withUnsafeBufferPointer { xs in planes.withPlanes { p in
                check(.floats(xs, format: format), aFixed, .planes(p), b, format: format, "floats + width \(width)")
                check(.planes(p), b, .floats(xs, format: format), aFixed, format: format, "width \(width) + floats")
            } }
        }
        let c = Self.floats(n, tag: 2).reversed().map { $0 }
        let cFixed = c.map { fixedFromFloatScalarReference($0, format: format) }
        a.withUnsafeBufferPointer { xs in c.withUnsafeBufferPointer { ys in
            check(.floats(xs, format: format), aFixed, .floats(ys, format: format), cFixed, format: format,
                  "floats + floats")
        } }
    }

    private func check(_ a: FixedOperand, _ aValues: [Int64], _ b: FixedOperand, _ bValues: [Int64],
                       format: FixedPointFormat, _ label: String) {
        let n = aValues.count
        let expected = zip(aValues, bValues).map { fixedAddScalarReference($0, $1) }
        let noPoison = !expected.contains(FixedPointFormat.poison)

        var sums = [Int64](repeating: 3, count: n)
        let ok = sums.withUnsafeMutableBufferPointer { fixedSum(a, b, into: $0) }
        #expect(sums == expected && ok == noPoison, "fixedSum, \(label), n \(n)")

        var floats = [Float](repeating: 1, count: n), reference = floats
        let okFloat = floats.withUnsafeMutableBufferPointer { fixedSumToFloat(a, b, into: $0, format: format) }
        _ = expected.withUnsafeBufferPointer { e in reference.withUnsafeMutableBufferPointer {
            floatFromFixedReference(e, $0, format: format) } }
        #expect(sameBits(floats, reference) && okFloat == noPoison, "fixedSumToFloat, \(label), n \(n)")

        var low = [UInt8](repeating: 0xEE, count: 4 * n), high = [UInt8](repeating: 0xEE, count: n)
        let fits = low.withUnsafeMutableBytes { l in high.withUnsafeMutableBytes { h in
            fixedSumPackIfFits(a, b, into: MutableFixedPlanes(low: l, high: h, width: 5)) } }
        let shouldFit = expected.allSatisfy { $0 >= -(1 << 39) && $0 < 1 << 39 }
        #expect(fits == shouldFit, "fixedSumPackIfFits fit test, \(label), n \(n)")
        if fits {
            let decoded = (0..<n).map { fixedPackedValueReference(low + high, width: 5, count: n, at: $0) }
            #expect(decoded == expected, "fixedSumPackIfFits values, \(label), n \(n)")
        }
    }

    @Test("a float operand alone: fixedToFloat and fixedFromFloat equal the reference, in every format",
          arguments: [FixedPointFormat.standard, FixedPointFormat(fractionBits: 20, inputMagnitudeBits: 30),
                      FixedPointFormat(fractionBits: 60, inputMagnitudeBits: 2),
                      FixedPointFormat(fractionBits: 0, inputMagnitudeBits: 62)])
    func single(format: FixedPointFormat) {
        for n in [0, 9, 1025, 4099] {
            var x = Self.floats(n, tag: 3)
            if n > 8 { x[3] = 0x1.fffffep61; x[4] = -0x1p61; x[5] = 0x1p-20; x[6] = 0x1.8p-60 }
            let expected = x.map { fixedFromFloatScalarReference($0, format: format) }
            let noPoison = !expected.contains(FixedPointFormat.poison)
            var fixed = [Int64](repeating: 5, count: n)
            let okFixed = x.withUnsafeBufferPointer { xs in fixed.withUnsafeMutableBufferPointer {
                fixedFromFloat(xs, $0, format: format) } }
            #expect(fixed == expected && okFixed == noPoison, "fixedFromFloat, \(format), n \(n)")

            var floats = [Float](repeating: 1, count: n), reference = floats
            let ok = x.withUnsafeBufferPointer { xs in floats.withUnsafeMutableBufferPointer {
                fixedToFloat(.floats(xs, format: format), into: $0, format: format) } }
            _ = expected.withUnsafeBufferPointer { e in reference.withUnsafeMutableBufferPointer {
                floatFromFixedReference(e, $0, format: format) } }
            #expect(sameBits(floats, reference) && ok == noPoison, "fixedToFloat, \(format), n \(n)")
        }
    }

    @Test("in place: a sum or conversion written over its float operand equals the one written elsewhere")
    func inPlace() {
        let format = FixedPointFormat.standard
        for n in [1, 1025, 4099] {
            let a = Self.floats(n, tag: 4), b = gradientLikeValues(n, tag: 5, highExponent: 3)
            var elsewhere = [Float](repeating: 0, count: n)
            _ = a.withUnsafeBufferPointer { xs in b.withUnsafeBufferPointer { ys in
                elsewhere.withUnsafeMutableBufferPointer {
                    fixedSumToFloat(.floats(xs, format: format), .floats(ys, format: format), into: $0, format: format)
                } } }
            var overB = b
            _ = a.withUnsafeBufferPointer { xs in overB.withUnsafeMutableBufferPointer { ys in
                fixedSumToFloat(.floats(xs, format: format), .floats(UnsafeBufferPointer(ys), format: format),
                                into: ys, format: format) } }
            #expect(sameBits(overB, elsewhere), "sum over its second operand, n \(n)")

            var converted = [Float](repeating: 0, count: n), overA = a
            _ = a.withUnsafeBufferPointer { xs in converted.withUnsafeMutableBufferPointer {
                fixedToFloat(.floats(xs, format: format), into: $0, format: format) } }
            _ = overA.withUnsafeMutableBufferPointer { xs in
                fixedToFloat(.floats(UnsafeBufferPointer(xs), format: format), into: xs, format: format) }
            #expect(sameBits(overA, converted), "conversion over its operand, n \(n)")
        }
    }

    private func sameBits(_ x: [Float], _ y: [Float]) -> Bool {
        x.count == y.count && zip(x, y).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
    }
}
