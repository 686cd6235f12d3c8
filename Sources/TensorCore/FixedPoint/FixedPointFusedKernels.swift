// MARK: - Exact mode's fused ring kernels: one pass where there were two or three
//
// Exact mode's reduce-scatter is bound by passes over its integers, so every hot spot is one pass:
// - packing for the wire while checking that every value fits the width, instead of a width scan and then
//   the packing (`fixedPackIfFits`; the accumulator's wire image is made this way, block by block);
// - a middle reduce-scatter step: add the received chunk to this rank's values and pack the sum to send on,
//   without writing 8-byte sums anywhere (`fixedSumPackIfFits`);
// - the last reduce-scatter step: add and convert straight to float (`fixedSumToFloat`).
// The two-operand loops are specialised per pair of operand kinds (`withLanes`): planes of width 5, 6 or 8, or
// floats converted as they are read (FixedOperand.swift).
//
// Shapes: n elements; planes as in FixedPlanes.swift, packed buffers n · width bytes (FixedPointPacking.swift).

/// Writes x in the planar form of `width` (5, 6 or 8) and returns whether every value fits that width as a
/// signed integer (if not, y holds garbage and the caller packs wider). x: [n] Int64, y: n · width bytes.
public func fixedPackIfFits(_ x: UnsafeBufferPointer<Int64>, width: Int,
                            into y: UnsafeMutableRawBufferPointer) -> Bool {
    fixedPackIfFits(x, into: MutableFixedPlanes(packed: y, count: x.count, width: width))
}

/// Writes x into the planes y and returns whether every value fits y's width (if not, y holds garbage).
/// x: [n] Int64, y: n values.
public func fixedPackIfFits(_ x: UnsafeBufferPointer<Int64>, into y: MutableFixedPlanes) -> Bool {
    precondition(x.count == y.count, "fixedPackIfFits: \(x.count) values for \(y.count)")
    guard !x.isEmpty else { return true }
    if y.width == 8 {
        UnsafeMutableRawBufferPointer(start: y.low, count: 8 * x.count).copyMemory(from: UnsafeRawBufferPointer(x))
        return true
    }
    return withPlaneWidths(y.width, 8, PackLoop(x: x, y: y))
}

private struct PackLoop: PlanePairLoop {
    let x: UnsafeBufferPointer<Int64>
    let y: MutableFixedPlanes

    /// Y: y's width (the second width is unused).
    func run<Y: PlaneWidth, Unused: PlaneWidth>(_: Y.Type, _: Unused.Type) -> Bool {
        let n = x.count
        let source = UnsafeRawPointer(x.baseAddress!)
        // v ^ (v >> 63) clears the sign copies; a value fits iff that has no bit at or above 8 · width - 1.
        var folded = SIMD8<Int64>()
        var i = 0
        while i + 8 <= n {
            let v = source.loadUnaligned(fromByteOffset: i * 8, as: SIMD8<Int64>.self)
            folded |= v ^ (v &>> 63)
            y.store8(v, Y.self, at: i)
            i += 8
        }
        var bits = bitwiseOr(folded)
        while i < n {
            bits |= x[i] ^ (x[i] >> 63)
            y.store(x[i], at: i)
            i += 1
        }
        return bits >> (8 * Y.bytes - 1) == 0
    }
}

/// y[i] = a[i] + b[i] exactly: an overflowing sum, or poison in either operand, gives poison. y may be b's
/// memory when b is plain values (width 8). Returns false if any poison resulted.
/// a, b: n values (any widths), y: [n] Int64.
@discardableResult
public func fixedSum(_ a: FixedPlanes, _ b: FixedPlanes, into y: UnsafeMutableBufferPointer<Int64>) -> Bool {
    fixedSum(.planes(a), .planes(b), into: y)
}

/// y[i] = a[i] + b[i] exactly, for operands of any kind (FixedOperand.swift); as above.
@discardableResult
public func fixedSum(_ a: FixedOperand, _ b: FixedOperand, into y: UnsafeMutableBufferPointer<Int64>) -> Bool {
    precondition(a.count == y.count && b.count == y.count, "fixedSum: \(a.count) + \(b.count) into \(y.count)")
    return forEachOperandBlock(y.count) { block in
        withLanes(a.slice(block), b.slice(block), SumLoop(y: UnsafeMutableBufferPointer(rebasing: y[block])))
    }
}

/// y[i] = a[i] as integers (the sum with zeros), poison where a[i] is; `fixedFromFloat` of a float operand.
/// Returns false if any poison resulted. a: n values (any kind), y: [n] Int64.
func fixedSum(_ a: FixedOperand, plusZeroInto y: UnsafeMutableBufferPointer<Int64>) -> Bool {
    precondition(a.count == y.count, "fixedSum: \(a.count) values into \(y.count)")
    return forEachOperandBlock(y.count) { block in
        withLanes(a.slice(block), PlusZero(loop: SumLoop(y: UnsafeMutableBufferPointer(rebasing: y[block]))))
    }
}

private struct SumLoop: FixedLanesPairLoop {
    let y: UnsafeMutableBufferPointer<Int64>

    func run<A: FixedLanes, B: FixedLanes>(_ a: A, _ b: B) -> Bool {
        let n = y.count
        let target = UnsafeMutableRawPointer(y.baseAddress!)
        var bad = SIMD8<Int64>()
        var i = 0
        while i + 8 <= n {
            let (sum, failed) = fixedAddLanes(a, b, at: i)
            target.storeBytes(of: sum, toByteOffset: i * 8, as: SIMD8<Int64>.self)
            bad |= failed
            i += 8
        }
        var ok = bad == SIMD8<Int64>()
        while i < n {
            y[i] = fixedAddScalar(a.value(at: i), b.value(at: i))
            ok = ok && y[i] != FixedPointFormat.poison
            i += 1
        }
        return ok
    }
}

/// y[i] = a[i] + b[i] written at the common width 5, in one pass: the partial sum a reduce-scatter step sends
/// on, without writing the 8-byte sums anywhere. Returns true only if every sum is exact (no overflow, no
/// poison) and fits 5 bytes; otherwise y holds garbage and the caller takes the 8-byte path (`fixedSum`).
/// a, b: n values (any widths), y: n values of width 5.
public func fixedSumPackIfFits(_ a: FixedPlanes, _ b: FixedPlanes, into y: MutableFixedPlanes) -> Bool {
    fixedSumPackIfFits(.planes(a), .planes(b), into: y)
}

/// As above, for operands of any kind (FixedOperand.swift).
public func fixedSumPackIfFits(_ a: FixedOperand, _ b: FixedOperand, into y: MutableFixedPlanes) -> Bool {
    precondition(a.count == y.count && b.count == y.count && y.width == 5,
                 "fixedSumPackIfFits: \(a.count) + \(b.count) into \(y.count) of width \(y.width)")
    return forEachOperandBlock(y.count) { block in
        withLanes(a.slice(block), b.slice(block), SumPackLoop(y: y.slice(block)))
    }
}

private struct SumPackLoop: FixedLanesPairLoop {
    let y: MutableFixedPlanes

    func run<A: FixedLanes, B: FixedLanes>(_ a: A, _ b: B) -> Bool {
        let n = y.count
        var folded = SIMD8<Int64>(), bad = SIMD8<Int64>()
        var i = 0
        while i + 8 <= n {
            let (sum, failed) = fixedAddLanes(a, b, at: i)
            folded |= sum ^ (sum &>> 63)
            bad |= failed
            y.store8(sum, PlaneWidth5.self, at: i)
            i += 8
        }
        var bits = bitwiseOr(folded)
        var ok = bad == SIMD8<Int64>()
        while i < n {
            let sum = fixedAddScalar(a.value(at: i), b.value(at: i))
            bits |= sum ^ (sum >> 63)
            ok = ok && sum != FixedPointFormat.poison
            y.store(sum, at: i)
            i += 1
        }
        return ok && bits >> 39 == 0
    }
}

/// out[i] = float(y[i] + x[i]) in one pass (x in the planar form of `width`); see `fixedSumToFloat`.
/// x: n · width bytes, y: [n] Int64, out: [n] float.
@discardableResult
public func fixedAddPackedToFloat(_ x: UnsafeRawBufferPointer, width: Int, _ y: UnsafeBufferPointer<Int64>,
                                  into out: UnsafeMutableBufferPointer<Float>, format: FixedPointFormat) -> Bool {
    fixedSumToFloat(FixedPlanes(packed: x, count: y.count, width: width), FixedPlanes(y), into: out, format: format)
}

/// out[i] = float(a[i] + b[i]) in one pass: the sum is exact (overflow or poison gives poison) and rounded to
/// float once, like `fixedSum` followed by `floatFromFixed`, but no integer sum is written. Poison becomes
/// NaN; returns false if any resulted. a, b: n values (any widths), out: [n] float.
@discardableResult
public func fixedSumToFloat(_ a: FixedPlanes, _ b: FixedPlanes, into out: UnsafeMutableBufferPointer<Float>,
                            format: FixedPointFormat) -> Bool {
    fixedSumToFloat(.planes(a), .planes(b), into: out, format: format)
}

/// As above, for operands of any kind (FixedOperand.swift). `out` may be the memory of a float operand (an
/// in-place all-reduce): each block is scanned before it is read, and each value read before it is written.
@discardableResult
public func fixedSumToFloat(_ a: FixedOperand, _ b: FixedOperand, into out: UnsafeMutableBufferPointer<Float>,
                            format: FixedPointFormat) -> Bool {
    precondition(a.count == out.count && b.count == out.count,
                 "fixedSumToFloat: \(a.count) + \(b.count) into \(out.count) floats")
    return forEachOperandBlock(out.count) { block in
        withLanes(a.slice(block), b.slice(block),
                  SumToFloatLoop(out: UnsafeMutableBufferPointer(rebasing: out[block]), inverse: format.inverseScale))
    }
}

private struct SumToFloatLoop: FixedLanesPairLoop {
    let out: UnsafeMutableBufferPointer<Float>
    let inverse: Float

    func run<A: FixedLanes, B: FixedLanes>(_ a: A, _ b: B) -> Bool {
        let n = out.count
        let target = UnsafeMutableRawPointer(out.baseAddress!)
        var bad = SIMD8<Int64>()
        var i = 0
        while i + 8 <= n {
            let (sum, failed) = fixedAddLanes(a, b, at: i)
            // Failed lanes (all ones) hold poison: OR-ing the quiet-NaN bits into their float makes it NaN.
            let converted = unsafeBitCast(floatLanes(sum) * inverse, to: SIMD8<UInt32>.self)
            let nanBits = narrowed(failed) & SIMD8<UInt32>(repeating: 0x7FC0_0000)
            target.storeBytes(of: converted | nanBits, toByteOffset: i * 4, as: SIMD8<UInt32>.self)
            bad |= failed
            i += 8
        }
        var ok = bad == SIMD8<Int64>()
        while i < n {
            let sum = fixedAddScalar(a.value(at: i), b.value(at: i))
            out[i] = floatFromFixedScalar(sum, inverse: inverse)
            ok = ok && sum != FixedPointFormat.poison
            i += 1
        }
        return ok
    }
}

/// out[i] = float(a[i]), one rounding, NaN where a[i] is poison: for floats, the value exact mode makes of a
/// single contribution (what a one-rank all-reduce returns). Returns false if any poison was met.
/// a: n values (any kind), out: [n] float; `out` may be the memory of a float operand.
@discardableResult
public func fixedToFloat(_ a: FixedOperand, into out: UnsafeMutableBufferPointer<Float>,
                         format: FixedPointFormat) -> Bool {
    precondition(a.count == out.count, "fixedToFloat: \(a.count) values into \(out.count) floats")
    return forEachOperandBlock(out.count) { block in   // float(a + 0): adding zero is exact
        let target = UnsafeMutableBufferPointer(rebasing: out[block])
        return withLanes(a.slice(block), PlusZero(loop: SumToFloatLoop(out: target, inverse: format.inverseScale)))
    }
}

/// Runs a two-operand loop with zeros as its second operand.
private struct PlusZero<L: FixedLanesPairLoop>: FixedLanesLoop {
    let loop: L

    func run<A: FixedLanes>(_ a: A) -> L.Result { loop.run(a, ZeroLanes()) }
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
