import Foundation
import TensorCore
import Testing
import TestSupport

/// Fixed-point kernels against their plain-loop references, and the exactness that exact mode relies on.
@Suite("Fixed point (exact all-reduce arithmetic)")
struct FixedPointTests {
    static let lengths = [0, 1, 7, 8, 9, 31, 1000, 4099]
    let format = FixedPointFormat.standard

    @Test("float -> fixed equals the reference bit for bit, poisoning NaN, Inf and too-large inputs",
          arguments: lengths)
    func fromFloat(n: Int) {
        var x = gradientLikeValues(n, tag: 1, highExponent: 19)   // some above the 2^18 limit
        if n > 5 { x[1] = .nan; x[3] = .infinity; x[5] = -262144; x[4] = 262143.98 }
        var fast = [Int64](repeating: 7, count: n), slow = [Int64](repeating: 9, count: n)
        let okFast = x.withUnsafeBufferPointer { xs in fast.withUnsafeMutableBufferPointer {
            fixedFromFloat(xs, $0, format: format) } }
        let okSlow = x.withUnsafeBufferPointer { xs in slow.withUnsafeMutableBufferPointer {
            fixedFromFloatReference(xs, $0, format: format) } }
        #expect(fast == slow)
        #expect(okFast == okSlow)
        let expectBad = x.contains { !($0.magnitude < 262144) }
        #expect(okFast == !expectBad)
        if n > 5 {
            #expect(fast[1] == FixedPointFormat.poison && fast[3] == FixedPointFormat.poison)
            #expect(fast[5] == FixedPointFormat.poison && fast[4] != FixedPointFormat.poison)
        }
    }

    @Test("float -> fixed on edge values (signed zeros, ties, tiny, subnormal, near the limit) in vector lanes")
    func fromFloatEdges() {
        let tie = Float(sign: .plus, exponent: -41, significand: 1)   // exactly half a step: rounds to even 0
        let edges: [Float] = [0, -0.0, tie, -tie, 3 * tie, -3 * tie, 1e-30, -1e-30, .leastNonzeroMagnitude,
                              131072, -131072, 262143.98, -262143.98, 1, -1, 0.1, -0.1, 1.5e-7]
        let x = edges + edges.reversed() + [7]   // 37 values: four vectors and a tail
        var fast = [Int64](repeating: 1, count: x.count), slow = [Int64](repeating: 2, count: x.count)
        x.withUnsafeBufferPointer { xs in fast.withUnsafeMutableBufferPointer {
            _ = fixedFromFloat(xs, $0, format: format) } }
        x.withUnsafeBufferPointer { xs in slow.withUnsafeMutableBufferPointer {
            _ = fixedFromFloatReference(xs, $0, format: format) } }
        #expect(fast == slow)
        #expect(fast[0] == 0 && fast[1] == 0 && fast[2] == 0 && fast[3] == 0 && fast[4] == 2 && fast[5] == -2)
        #expect(fast[9] == 131072 << 40 && fast[10] == -(131072 << 40))
    }

    @Test("fixed + fixed equals the reference; overflow and poison are detected, never wrapped",
          arguments: lengths)
    func add(n: Int) {
        var stream = CounterRNG(seed: 3).stream(UInt32(n))
        let x = (0..<n).map { _ in Int64(bitPattern: UInt64(stream.nextInt(below: 1 << 30)) << 33) }
        let y0 = (0..<n).map { _ in Int64(bitPattern: UInt64(stream.nextInt(below: 1 << 30)) << 33) }
        // Unaligned source: the raw bytes start 4 bytes into a buffer.
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: 8 * n + 4, alignment: 16)
        defer { raw.deallocate() }
        x.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: raw[4...]).copyMemory(from: $0) }
        var fast = y0, slow = y0
        let okFast = fast.withUnsafeMutableBufferPointer {
            fixedAdd(UnsafeRawBufferPointer(rebasing: raw[4...]), into: $0) }
        let okSlow = x.withUnsafeBufferPointer { xs in slow.withUnsafeMutableBufferPointer {
            fixedAddReference(xs, into: $0) } }
        #expect(fast == slow && okFast == okSlow)
        for i in 0..<n {
            let (sum, overflow) = x[i].addingReportingOverflow(y0[i])
            if overflow || x[i] == .min || y0[i] == .min {
                #expect(fast[i] == FixedPointFormat.poison)
            } else {
                #expect(fast[i] == sum)
            }
        }
        #expect(okFast == !fast.contains(FixedPointFormat.poison))
        if n >= 31 { #expect(!okFast, "random 63-bit values overflow somewhere in \(n) sums") }
    }

    @Test("fixed -> float equals the reference; poison becomes NaN", arguments: lengths)
    func toFloat(n: Int) {
        var stream = CounterRNG(seed: 4).stream(UInt32(n))
        var y = (0..<n).map { _ in
            Int64(stream.nextInt(below: 1 << 30)) << Int64(stream.nextInt(below: 33)) - (1 << 40) }
        if n > 2 { y[2] = FixedPointFormat.poison }
        var fast = [Float](repeating: 1, count: n), slow = [Float](repeating: 2, count: n)
        let okFast = y.withUnsafeBufferPointer { ys in fast.withUnsafeMutableBufferPointer {
            floatFromFixed(ys, $0, format: format) } }
        let okSlow = y.withUnsafeBufferPointer { ys in slow.withUnsafeMutableBufferPointer {
            floatFromFixedReference(ys, $0, format: format) } }
        #expect(fast.map(\.bitPattern) == slow.map(\.bitPattern) && okFast == okSlow)
        #expect(okFast == (n <= 2))
        if n > 2 { #expect(fast[2].isNaN) }
    }

    @Test("float + float equals the reference bit for bit", arguments: lengths)
    func floatSum(n: Int) {
        let x = randomValues(n, tag: 5), y0 = randomValues(n, tag: 6)
        var fast = y0, slow = y0
        x.withUnsafeBytes { xs in fast.withUnsafeMutableBufferPointer { floatAdd(xs, into: $0) } }
        x.withUnsafeBufferPointer { xs in slow.withUnsafeMutableBufferPointer { floatAddReference(xs, into: $0) } }
        expectBitwiseEqual(fast, slow, "floatAdd n=\(n)")
    }

    @Test("round trip: values of ordinary size survive float -> fixed -> float exactly")
    func roundTrip() throws {
        let x = gradientLikeValues(10_000, tag: 7, lowExponent: -16, highExponent: 17)
        let accumulator = FixedPointAccumulator(count: x.count)
        try x.withUnsafeBufferPointer { xs throws(FixedPointError) in try accumulator.add(xs) }
        var back = [Float](repeating: 0, count: x.count)
        try back.withUnsafeMutableBufferPointer { out throws(FixedPointError) in try accumulator.readFloats(into: out) }
        expectBitwiseEqual(back, x, "|x| >= 2^-16 keeps all 24 bits at 2^40")
    }

    @Test("16 shards summed by 1, 2, 3 or 5 workers in any order give the same bits")
    func groupingInvariance() throws {
        let count = 3001, shardCount = 16
        let shards = (0..<shardCount).map { gradientLikeValues(count, tag: 100 + UInt32($0), highExponent: 13) }
        func sum(workers: Int, order: [Int]) throws -> [Float] {
            let partials = (0..<workers).map { _ in FixedPointAccumulator(count: count) }
            for (position, shard) in order.enumerated() {
                try shards[shard].withUnsafeBufferPointer { s throws(FixedPointError) in
                    try partials[position % workers].add(s) }
            }
            let total = FixedPointAccumulator(count: count)
            for partial in partials.reversed() { try total.add(partial) }
            var out = [Float](repeating: 0, count: count)
            try out.withUnsafeMutableBufferPointer { o throws(FixedPointError) in try total.readFloats(into: o) }
            return out
        }
        let reference = try sum(workers: 1, order: Array(0..<shardCount))
        var stream = CounterRNG(seed: 9).stream(0)
        for workers in [1, 2, 3, 5] {
            var order = Array(0..<shardCount)
            for i in stride(from: shardCount - 1, to: 0, by: -1) { order.swapAt(i, stream.nextInt(below: i + 1)) }
            expectBitwiseEqual(try sum(workers: workers, order: order), reference, "\(workers) workers, order \(order)")
        }
        // Float32 summation of the same data is order dependent (why float mode is not bit-stable).
        let forward = (0..<count).map { i in shards.reduce(Float(0)) { $0 + $1[i] } }
        let backward = (0..<count).map { i in shards.reversed().reduce(Float(0)) { $0 + $1[i] } }
        #expect(forward.map(\.bitPattern) != backward.map(\.bitPattern))
    }

    @Test("the accumulator reports the element and value of a bad input and of an overflowing sum")
    func errors() {
        let accumulator = FixedPointAccumulator(count: 20)
        var x = [Float](repeating: 1, count: 20)
        x[13] = .nan
        #expect(throws: FixedPointError.self) { try x.withUnsafeBufferPointer { try accumulator.add($0) } }
        do throws(FixedPointError) {
            try x.withUnsafeBufferPointer { xs throws(FixedPointError) in try accumulator.add(xs) }
        } catch {
            guard case .inputOutOfRange(index: 13, value: let v, format: _) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(v.isNaN)
        }
        let small = FixedPointFormat(fractionBits: 40, inputMagnitudeBits: 22)   // 2 summands safe
        let a = FixedPointAccumulator(count: 3, format: small)
        let big: [Float] = [1, 4_100_000, 2]   // 4.1e6 · 2^40 ≈ 4.5e18: two fit below 2^63, three do not
        #expect(throws: Never.self) { try big.withUnsafeBufferPointer { try a.add($0) } }
        #expect(throws: Never.self) { try big.withUnsafeBufferPointer { try a.add($0) } }
        #expect(throws: FixedPointError.overflow(index: 1, format: small)) {
            try big.withUnsafeBufferPointer { try a.add($0) }
        }
    }
}

/// Narrow wire widths (planar form): packing loses nothing, and the packed add, the fit test and the fused
/// add-and-convert equal their byte-by-byte references.
@Suite("Fixed point packing")
struct FixedPointPackingTests {
    /// Values that need exactly `bits` bits including the sign, both signs, plus zeros.
    static func values(_ n: Int, bits: Int, tag: UInt32) -> [Int64] {
        var stream = CounterRNG(seed: 0x9ACC).stream(tag)
        return (0..<n).map { i in
            if i % 7 == 3 { return 0 }
            let magnitude = Int64(stream.nextUInt64() >> UInt64(64 - (bits - 1)))
            return stream.nextUniform() < 0.5 ? -magnitude - 1 : magnitude
        }
    }

    @Test("the width is the narrowest of 5, 6, 8 that holds every value; extremes and poison need 8",
          arguments: [0, 1, 7, 8, 9, 33, 1000])
    func width(n: Int) {
        for bits in [1, 20, 40, 41, 48, 49, 56, 57, 64] {
            let x = Self.values(n, bits: bits, tag: UInt32(bits))
            let fast = x.withUnsafeBufferPointer { fixedPackedWidth($0) }
            let slow = x.withUnsafeBufferPointer { fixedPackedWidthReference($0) }
            #expect(fast == slow, "n \(n), \(bits) bits")
        }
        if n > 0 {
            var edge = [Int64](repeating: 1, count: n)
            edge[n - 1] = -(1 << 39)
            #expect(edge.withUnsafeBufferPointer { fixedPackedWidth($0) } == 5)
            edge[n - 1] = 1 << 39
            #expect(edge.withUnsafeBufferPointer { fixedPackedWidth($0) } == 6)
            edge[0] = FixedPointFormat.poison
            #expect(edge.withUnsafeBufferPointer { fixedPackedWidth($0) } == 8)
        }
    }

    @Test("pack then unpack is the identity, and the packed add equals the reference (incl. overflow, poison)",
          arguments: [0, 1, 2, 7, 8, 9, 31, 1000, 4099])
    func roundTripAndAdd(n: Int) {
        for bits in [1, 33, 40, 47, 55, 64] {
            let x = Self.values(n, bits: bits, tag: UInt32(100 + bits))
            let width = x.withUnsafeBufferPointer { fixedPackedWidth($0) }
            var packed = [UInt8](repeating: 0xEE, count: n * width)
            x.withUnsafeBufferPointer { xs in packed.withUnsafeMutableBytes { fixedPack(xs, width: width, into: $0) } }
            var unpacked = [Int64](repeating: 7, count: n)
            packed.withUnsafeBytes { raw in unpacked.withUnsafeMutableBufferPointer {
                fixedUnpack(raw, width: width, into: $0) } }
            #expect(unpacked == x, "n \(n), \(bits) bits, width \(width)")

            var base = Self.values(n, bits: 63, tag: UInt32(200 + bits))   // near the limits: some sums overflow
            if n > 4 { base[4] = FixedPointFormat.poison }
            var fast = base, slow = base
            let okFast = packed.withUnsafeBytes { raw in fast.withUnsafeMutableBufferPointer {
                fixedAddPacked(raw, width: width, into: $0) } }
            let okSlow = slow.withUnsafeMutableBufferPointer { fixedAddPackedReference(packed, width: width, into: $0) }
            #expect(fast == slow && okFast == okSlow, "n \(n), \(bits) bits, width \(width)")
        }
    }

    @Test("pack-if-fits writes the reference bytes and says whether every value fits, at widths 5, 6 and 8",
          arguments: [0, 1, 7, 8, 9, 31, 1000, 4099])
    func packIfFits(n: Int) {
        for bits in [1, 39, 40, 41, 48, 49, 64] {
            var x = Self.values(n, bits: bits, tag: UInt32(300 + bits))
            if n > 5, bits == 64 { x[5] = FixedPointFormat.poison }
            for width in fixedPackedWidths {
                var fast = [UInt8](repeating: 0xEE, count: n * width), slow = fast
                let fits = x.withUnsafeBufferPointer { xs in
                    fast.withUnsafeMutableBytes { fixedPackIfFits(xs, width: width, into: $0) } }
                let fitsSlow = x.withUnsafeBufferPointer { xs in
                    slow.withUnsafeMutableBytes { fixedPackIfFitsReference(xs, width: width, into: $0) } }
                let needed = width >= x.withUnsafeBufferPointer { fixedPackedWidthReference($0) }
                #expect(fits == fitsSlow && fits == needed, "n \(n), \(bits) bits, width \(width)")
                if fits { #expect(fast == slow, "n \(n), \(bits) bits, width \(width)") }
            }
        }
    }

    @Test("the fused add-and-convert equals the packed add then the conversion, NaN where a sum overflowed",
          arguments: [0, 1, 7, 8, 9, 31, 1000, 4099])
    func addPackedToFloat(n: Int) {
        let format = FixedPointFormat.standard
        for bits in [1, 33, 40, 47, 55, 64] {
            let x = Self.values(n, bits: bits, tag: UInt32(400 + bits))
            let width = x.withUnsafeBufferPointer { fixedPackedWidth($0) }
            var packed = [UInt8](repeating: 0, count: n * width)
            x.withUnsafeBufferPointer { xs in packed.withUnsafeMutableBytes { fixedPack(xs, width: width, into: $0) } }
            var base = Self.values(n, bits: bits == 64 ? 63 : 45, tag: UInt32(500 + bits))   // 64: overflows
            if n > 4 { base[4] = FixedPointFormat.poison }
            var fast = [Float](repeating: 1, count: n), slow = fast
            let okFast = packed.withUnsafeBytes { raw in base.withUnsafeBufferPointer { b in
                fast.withUnsafeMutableBufferPointer {
                    fixedAddPackedToFloat(raw, width: width, b, into: $0, format: format) } } }
            let okSlow = slow.withUnsafeMutableBufferPointer {
                fixedAddPackedToFloatReference(packed, width: width, base, into: $0, format: format) }
            let same = zip(fast, slow).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
            #expect(same && okFast == okSlow, "n \(n), \(bits) bits, width \(width)")
            #expect(okFast == !slow.contains(where: \.isNaN) && (n <= 4 || !okFast), "n \(n), \(bits) bits")
        }
    }
}
