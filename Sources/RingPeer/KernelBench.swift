import TensorCore
import Comm
import Foundation

// MARK: - Reduction kernels: fast against naive (STYLE rule 5: a benchmark proves the vectorisation)

/// Times every ring kernel and its plain-loop reference on `count` elements (median of 9 runs) and prints
/// GB/s of bytes touched (read + written).
func kernelBench(_ args: ArraySlice<String>) -> Int32 {
    let count = args.first.flatMap { Int($0) } ?? (4 << 20)
    let format = FixedPointFormat.standard
    let floats = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
    let floats2 = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
    let fixed = UnsafeMutableBufferPointer<Int64>.allocate(capacity: count)
    let fixed2 = UnsafeMutableBufferPointer<Int64>.allocate(capacity: count)
    defer { floats.deallocate(); floats2.deallocate(); fixed.deallocate(); fixed2.deallocate() }
    for i in 0..<count { floats[i] = Float(i % 1000) * 1e-4 - 0.05; floats2[i] = 0; fixed2[i] = Int64(i) }
    fixedFromFloat(UnsafeBufferPointer(floats), fixed, format: format)
    let ro = UnsafeBufferPointer(floats), roFixed = UnsafeBufferPointer(fixed)
    // Exact mode's wire form: 5 bytes per element.
    let packed = UnsafeMutableRawBufferPointer.allocate(byteCount: count * 5, alignment: 64)
    defer { packed.deallocate() }
    _ = fixedPackIfFits(roFixed, width: 5, into: packed)
    let roPacked = UnsafeRawBufferPointer(packed), packedArray = Array(roPacked), fixedArray = Array(roFixed)
    // Exact mode's common case: a received chunk and this rank's wire image, both at 5 bytes.
    let planes = FixedPlanes(packed: roPacked, count: count, width: 5)
    let sumsPacked = UnsafeMutableRawBufferPointer.allocate(byteCount: count * 5, alignment: 64)
    defer { sumsPacked.deallocate() }
    let sumsPlanes = MutableFixedPlanes(packed: sumsPacked, count: count, width: 5)
    // Exact mode from floats (one contribution per rank): a received float chunk, or packed partial sums, with
    // this rank's floats, both converted as they are read.
    let received = FixedOperand.floats(ro, format: format)
    let mine = FixedOperand.floats(UnsafeBufferPointer(floats2), format: format)
    let sumsOut = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
    defer { sumsOut.deallocate() }
    let viaReference = { (addend: (Int) -> Int64) in
        for i in 0..<count {
            fixed2[i] = fixedFromFloatScalarReference(floats2[i], format: format) &+ addend(i)
        }
    }
    let rows: [(String, Int, () -> Void, () -> Void)] = [
        ("float -> fixed", 12, { fixedFromFloat(ro, fixed2, format: format) },
         { fixedFromFloatReference(ro, fixed2, format: format) }),
        ("fixed += fixed", 24, { fixedAdd(roFixed, into: fixed2) }, { fixedAddReference(roFixed, into: fixed2) }),
        ("fixed -> float", 12, { floatFromFixed(roFixed, floats2, format: format) },
         { floatFromFixedReference(roFixed, floats2, format: format) }),
        ("pack to 5 bytes", 13, { _ = fixedPackIfFits(roFixed, width: 5, into: packed) },
         { _ = fixedPackIfFitsReference(roFixed, width: 5, into: packed) }),
        ("fixed += packed", 21, { fixedAddPacked(roPacked, width: 5, into: fixed2) },
         { fixedAddPackedReference(packedArray, width: 5, into: fixed2) }),
        ("float(fixed+pkd)", 17,
         { fixedAddPackedToFloat(roPacked, width: 5, roFixed, into: floats2, format: format) },
         { fixedAddPackedToFloatReference(packedArray, width: 5, fixedArray, into: floats2, format: format) }),
        ("float(pkd+pkd)", 14, { fixedSumToFloat(planes, planes, into: floats2, format: format) },
         { fixedAddPackedToFloatReference(packedArray, width: 5, fixedArray, into: floats2, format: format) }),
        ("pkd+pkd -> pkd", 15, { _ = fixedSumPackIfFits(planes, planes, into: sumsPlanes) },
         {
            for i in 0..<count {
                let value = fixedPackedValueReference(packedArray, width: 5, count: count, at: i)
                fixed2[i] = value &+ value
            }
            _ = fixedPackIfFitsReference(UnsafeBufferPointer(fixed2), width: 5, into: sumsPacked)
         }),
        ("float(flt+flt)", 12, { fixedSumToFloat(received, mine, into: sumsOut, format: format) },
         {
            viaReference { fixedFromFloatScalarReference(ro[$0], format: format) }
            floatFromFixedReference(UnsafeBufferPointer(fixed2), sumsOut, format: format)
         }),
        ("flt+flt -> pkd", 13, { _ = fixedSumPackIfFits(received, mine, into: sumsPlanes) },
         {
            viaReference { fixedFromFloatScalarReference(ro[$0], format: format) }
            _ = fixedPackIfFitsReference(UnsafeBufferPointer(fixed2), width: 5, into: sumsPacked)
         }),
        ("float(pkd+flt)", 13, { fixedSumToFloat(.planes(planes), mine, into: sumsOut, format: format) },
         {
            viaReference { fixedPackedValueReference(packedArray, width: 5, count: count, at: $0) }
            floatFromFixedReference(UnsafeBufferPointer(fixed2), sumsOut, format: format)
         }),
        ("float += float", 12, { floatAdd(ro, into: floats2) }, { floatAddReference(ro, into: floats2) }),
    ]
    print("kernel           elements   fast GB/s   naive GB/s   speedup")
    for (name, bytesPerElement, fast, naive) in rows {
        let tf = medianSeconds(fast), tn = medianSeconds(naive)
        let bytes = Double(count * bytesPerElement)
        print(String(format: "%-16@ %9d   %9.2f   %10.2f   %6.2fx", name, count, bytes / tf / 1e9, bytes / tn / 1e9,
                     tn / tf))
    }
    return 0
}

private func medianSeconds(_ body: () -> Void) -> Double {
    var times: [Double] = []
    for _ in 0..<9 {
        let start = ContinuousClock.now
        body()
        times.append(seconds(ContinuousClock.now - start))
    }
    return times.sorted()[times.count / 2]
}
