import Testing
import TensorCore
import TestSupport

/// `attentionHeadForward` / `attentionHeadBackward` (the fused per-head attention kernels) against their
/// Double references, on strided views like the model's (Q, K, V inside a wider qkv row, O inside a
/// wider output row).
@Suite struct AttentionHeadTests {
    /// (S, E): the model's encoder (33, 64) and decoder (129, 32) heads, and awkward sizes (S = 1,
    /// S a multiple of 16, E below one vector).
    static let shapes: [(sequence: Int, headWidth: Int)] = [(33, 64), (129, 32), (1, 8), (5, 8), (16, 16), (17, 24),
                                                            (48, 32)]

    static var cases: [(Int, Bool)] { shapes.indices.flatMap { [($0, false), ($0, true)] } }

    /// One head's inputs: qkv rows of 3·E + 5 floats (Q, K, V at offsets 0, E, 2E), O rows of E + 3, and
    /// a key mask that drops every third key but always keeps key 1 % S.
    struct Head {
        let geometry: AttentionHeadGeometry
        let qkv: [Float], dO: [Float], mask: [Bool]
        var scale: Float { 1 / Float(geometry.headWidth).squareRoot() }

        init(_ shape: (sequence: Int, headWidth: Int)) {
            let (s, e) = shape
            geometry = AttentionHeadGeometry(sequence: s, headWidth: e, qkvStride: 3 * e + 5, outputStride: e + 3)
            qkv = randomValues(s * geometry.qkvStride, tag: 1, scale: 2)
            dO = randomValues(s * geometry.outputStride, tag: 2)
            mask = (0..<s).map { $0 % 3 != 0 || $0 == 1 % s }
        }

        /// Views of Q, K, V (or of dQ, dK, dV in a buffer of the same layout).
        func views<T>(_ buffer: UnsafeBufferPointer<T>) -> [UnsafeBufferPointer<T>] {
            let e = geometry.headWidth, count = geometry.viewCount(geometry.qkvStride)
            return (0..<3).map { UnsafeBufferPointer(rebasing: buffer[($0 * e)..<($0 * e + count)]) }
        }
    }

    @Test(arguments: cases) func forwardMatchesReference(shapeIndex: Int, masked: Bool) {
        let head = Head(Self.shapes[shapeIndex])
        let g = head.geometry, s = g.sequence, oCount = g.viewCount(g.outputStride)
        let work = Workspace()
        defer { work.release() }
        let qkv = work.buffer(head.qkv).readOnly
        let (q, k, v) = (head.views(qkv)[0], head.views(qkv)[1], head.views(qkv)[2])
        let p = work.buffer([Float](repeating: .nan, count: s * s)), pReference = work.zeros(s * s)
        let o = work.buffer([Float](repeating: -7, count: s * g.outputStride))
        let oReference = work.buffer([Float](repeating: -7, count: s * g.outputStride))
        let scratch = work.buffer([Float](repeating: .nan, count: g.scratchCount))   // must be overwritten before use
        head.mask.withUnsafeBufferPointer { mask in
            let keyMask = masked ? mask : nil
            attentionHeadForward(q: q, k: k, v: v, keyMask: keyMask, probabilities: p,
                                 output: UnsafeMutableBufferPointer(rebasing: o[0..<oCount]), geometry: g,
                                 scale: head.scale, scratch: scratch)
            attentionHeadForwardReference(q: q, k: k, v: v, keyMask: keyMask, probabilities: pReference,
                                          output: UnsafeMutableBufferPointer(rebasing: oReference[0..<oCount]),
                                          geometry: g, scale: head.scale)
        }
        expectClose(p.array, pReference.array, atol: 1e-6, rtol: 1e-5, "P, S \(s), E \(g.headWidth), masked \(masked)")
        expectClose(o.array, oReference.array, atol: 1e-5, rtol: 1e-5, "O, S \(s), E \(g.headWidth), masked \(masked)")
        if masked {
            let dropped = (0..<s).filter { !head.mask[$0] }
            #expect(dropped.allSatisfy { j in (0..<s).allSatisfy { p[$0 * s + j] == 0 } }, "masked keys get exactly 0")
        }
        // The padding columns of O's rows are untouched.
        #expect((0..<s).allSatisfy { i in
            (g.headWidth..<g.outputStride).allSatisfy { o[i * g.outputStride + $0] == -7 }
        })
    }

    @Test(arguments: cases) func backwardMatchesReference(shapeIndex: Int, masked: Bool) {
        let head = Head(Self.shapes[shapeIndex])
        let g = head.geometry, s = g.sequence, oCount = g.viewCount(g.outputStride)
        let work = Workspace()
        defer { work.release() }
        let qkv = work.buffer(head.qkv).readOnly
        let (q, k, v) = (head.views(qkv)[0], head.views(qkv)[1], head.views(qkv)[2])
        let dO = UnsafeBufferPointer(rebasing: work.buffer(head.dO).readOnly[0..<oCount])
        // P from the reference forward (a valid softmax output, masked keys 0).
        let p = work.zeros(s * s), o = work.zeros(s * g.outputStride)
        head.mask.withUnsafeBufferPointer { mask in
            attentionHeadForwardReference(q: q, k: k, v: v, keyMask: masked ? mask : nil, probabilities: p,
                                          output: UnsafeMutableBufferPointer(rebasing: o[0..<oCount]),
                                          geometry: g, scale: head.scale)
        }
        let gradient = work.buffer([Float](repeating: -7, count: s * g.qkvStride))
        let gradientReference = work.buffer([Float](repeating: -7, count: s * g.qkvStride))
        let scratch = work.buffer([Float](repeating: .nan, count: g.scratchCount))
        let d = head.views(gradient.readOnly).map { UnsafeMutableBufferPointer(mutating: $0) }
        let dReference = head.views(gradientReference.readOnly).map { UnsafeMutableBufferPointer(mutating: $0) }
        attentionHeadBackward(q: q, k: k, v: v, probabilities: p.readOnly, dO: dO, dQ: d[0], dK: d[1], dV: d[2],
                              geometry: g, scale: head.scale, scratch: scratch)
        attentionHeadBackwardReference(q: q, k: k, v: v, probabilities: p.readOnly, dO: dO, dQ: dReference[0],
                                       dK: dReference[1], dV: dReference[2], geometry: g, scale: head.scale)
        expectClose(gradient.array, gradientReference.array, atol: 2e-5, rtol: 1e-4,
                    "dQ, dK, dV, S \(s), E \(g.headWidth), masked \(masked)")
        // The 5 floats after V in each qkv row are no gradient and stay untouched.
        #expect((0..<s).allSatisfy { i in
            (3 * g.headWidth..<g.qkvStride).allSatisfy { gradient[i * g.qkvStride + $0] == -7 }
        })
    }

    /// The SIMD16 exp equals the scalar one lane for lane, bit for bit, across the range and its edges.
    @Test func vectorExpEqualsScalarExp() {
        let values = (0..<4096).map { Float($0 - 2048) * 0.05 } + [-.infinity, -1e4, -87.34, -87.33, 88.37, 88.38, 100,
                                                                  .infinity, -0.0, 0, 1e-30, -1e-30, 0.3466, 0.3467]
        var vector = [Float](), scalar = [Float]()
        for start in stride(from: 0, to: values.count, by: 16) {
            var lanes = SIMD16<Float>()
            for lane in 0..<16 { lanes[lane] = values[min(start + lane, values.count - 1)] }
            let result = expApproximation(lanes)
            for lane in 0..<16 where start + lane < values.count {
                vector.append(result[lane])
                scalar.append(expApproximation(lanes[lane]))
            }
        }
        expectBitwiseEqual(vector, scalar, "expApproximation(SIMD16) vs scalar")
    }
}
