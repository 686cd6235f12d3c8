import Foundation
import NN
import Testing
import TensorCore
import TestSupport

@Suite struct LinearTests {
    static func make(bias: Bool = true, inFeatures: Int = 16, outFeatures: Int = 12) -> (Linear, ParameterArena) {
        var layout = ParameterLayout()
        let linear = Linear(name: "fc", inFeatures: inFeatures, outFeatures: outFeatures, bias: bias, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 11)
        perturbParameters(arena, tag: 1)
        return (linear, arena)
    }

    @Test func registersWeightThenBiasAsPyTorchStoresThem() {
        var layout = ParameterLayout()
        _ = Linear(name: "blocks.0.attn.qkv", inFeatures: 8, outFeatures: 24, layout: &layout)
        #expect(layout.views.map(\.name) == ["blocks.0.attn.qkv.weight", "blocks.0.attn.qkv.bias"])
        #expect(layout.views.map(\.shape) == [[24, 8], [24]])
        #expect(layout.views[0].initializer == .xavierUniform(fanIn: 8, fanOut: 24))
        #expect(layout.views[1].initializer == .constant(0))
    }

    /// Y = X·Wᵀ + b against `gemmReference` plus the bias, for a rank-3 input.
    @Test(arguments: [true, false]) func forwardMatchesReference(bias: Bool) {
        let (linear, arena) = Self.make(bias: bias)
        let context = LayerContext(arena: arena)
        let x = randomTensor([2, 3, 16], tag: 2)
        let y = linear.forward(x, context)
        #expect(y.shape == [2, 3, 12])
        var expected = [Float](repeating: 0, count: 6 * 12)
        x.withUnsafeBufferPointer { xb in
            arena.parameter(linear.weight).withUnsafeBufferPointer { wb in
                expected.withUnsafeMutableBufferPointer { eb in
                    gemmReference(.nt, m: 6, n: 12, k: 16, a: xb, lda: 16, b: wb, ldb: 16, c: eb, ldc: 12,
                                  accumulate: false)
                }
            }
        }
        let b = linear.bias.map { arena.parameter($0).scalars } ?? [Float](repeating: 0, count: 12)
        let reference = expected.indices.map { Double(expected[$0]) + Double(b[$0 % 12]) }
        // The packed GEMM sums in another order than the Double reference: a few float ulps.
        expectClose(y.scalars, reference, atol: 1e-6, rtol: 1e-5, "Linear forward")
    }

    /// Backward accumulates: running it twice doubles dX, dW and db.
    @Test func backwardAccumulates() {
        let (linear, arena) = Self.make()
        let context = LayerContext(arena: arena)
        let x = randomTensor([5, 16], tag: 3), dY = randomTensor([5, 12], tag: 4)
        let dX = Tensor(zeros: x.shape)
        linear.backward(x: x, dY: dY, dX: dX, context)
        let once = dX.scalars, gradientsOnce = allGradients(arena)
        #expect(gradientsOnce.contains { $0 != 0 })
        linear.backward(x: x, dY: dY, dX: dX, context)
        // 2·g is exact in float; the second pass adds the same product to the stored one.
        expectClose(dX.scalars, once.map { 2 * Double($0) }, atol: 1e-7, rtol: 1e-6, "dX twice")
        expectClose(allGradients(arena), gradientsOnce.map { 2 * Double($0) }, atol: 1e-7, rtol: 1e-6, "dW, db twice")
        // nil dX: only the parameter gradients move.
        linear.backward(x: x, dY: dY, dX: nil, context)
        expectClose(allGradients(arena), gradientsOnce.map { 3 * Double($0) }, atol: 1e-7, rtol: 1e-6, "dW, db thrice")
    }

    @Test(arguments: [true, false]) func gradientsMatchFiniteDifferences(bias: Bool) {
        let (linear, arena) = Self.make(bias: bias)
        let context = LayerContext(arena: arena)
        let x = randomTensor([2, 5, 16], tag: 5), r = randomTensor([2, 5, 12], tag: 6)
        let dX = Tensor(zeros: x.shape)
        linear.backward(x: x, dY: r, dX: dX, context)
        let probes = parameterProbes(arena, perTensor: 8, tag: 7) + inputProbes("x", x, gradient: dX, count: 12, tag: 8)
        checkGradients(probes) { weightedSum(linear.forward(x, context), r) }
    }
}
