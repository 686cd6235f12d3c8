import Foundation
import NN
import Testing
import TensorCore
import TestSupport

@Suite struct TransformerBlockTests {
    static func make(width: Int, heads: Int, seed: UInt64) -> (TransformerBlock, ParameterArena) {
        var layout = ParameterLayout()
        let block = TransformerBlock(name: "blocks.0", width: width, heads: heads, mlpRatio: 4, eps: 1e-6,
                                     layout: &layout)
        let arena = ParameterArena(layout: layout, seed: seed)
        perturbParameters(arena, tag: 1)
        return (block, arena)
    }

    @Test func registersParametersInReferenceOrder() {
        let (_, arena) = Self.make(width: 16, heads: 2, seed: 1)
        let names = ["norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight",
                     "attn.proj.bias", "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias",
                     "mlp.fc2.weight", "mlp.fc2.bias"]
        #expect(arena.layout.views.map(\.name) == names.map { "blocks.0." + $0 })
        #expect(arena.layout.views.map(\.shape) == [[16], [16], [48, 16], [48], [16, 16], [16], [16], [16],
                                                    [64, 16], [64], [16, 64], [16]])
    }

    /// y = x1 + mlp(norm2(x1)) with x1 = x + attn(norm1(x)), composed from the layers.
    @Test func forwardComposesTheLayers() {
        let (block, arena) = Self.make(width: 16, heads: 2, seed: 2)
        let context = LayerContext(arena: arena)
        let x = randomTensor([2, 5, 16], tag: 2)
        let (y, _) = block.forward(x, keyMask: AttentionTests.keyMask, context)
        let a = block.attention.forward(block.norm1.forward(x, context).0, keyMask: AttentionTests.keyMask, context).0
        let x1 = zip(x.scalars, a.scalars).map { $0 + $1 }
        let x1Tensor = Tensor(shape: x.shape, values: x1)
        let m = block.mlp.forward(block.norm2.forward(x1Tensor, context).0, context).0
        expectBitwiseEqual(y.scalars, zip(x1, m.scalars).map { $0 + $1 }, "block output")
    }

    @Test(arguments: [false, true]) func gradientsMatchFiniteDifferences(masked: Bool) {
        let (block, arena) = Self.make(width: 16, heads: 2, seed: 3)
        let context = LayerContext(arena: arena)
        let mask = masked ? AttentionTests.keyMask : nil
        let x = randomTensor([2, 5, 16], tag: 3), r = randomTensor([2, 5, 16], tag: 4)
        let (_, cache) = block.forward(x, keyMask: mask, context)
        let dX = block.backward(cache, dY: r, context)
        #expect(dX.shape == x.shape)
        let probes = parameterProbes(arena, perTensor: 6, tag: 5) + inputProbes("x", x, gradient: dX, count: 24, tag: 6)
        checkGradients(probes) { weightedSum(block.forward(x, keyMask: mask, context).0, r) }
    }

    /// Forward output, dX and every parameter gradient are bit-identical for 1, 2 and 3 threads
    /// (sizes large enough that the GEMMs and kernels split their outputs into several tasks).
    @Test func forwardAndBackwardAreBitIdenticalForAnyThreadCount() {
        let batch = 3, sequence = 33, width = 64
        let x = randomTensor([batch, sequence, width], tag: 7), r = randomTensor(x.shape, tag: 8)
        let mask = (0..<(batch * sequence)).map { ($0 % sequence) < sequence - 3 * ($0 / sequence) }
        var results: [[Float]] = []
        for threads in [1, 2, 3] {
            let (block, arena) = Self.make(width: width, heads: 4, seed: 9)
            let context = LayerContext(arena: arena, pool: ThreadPool(threadCount: threads))
            let (y, cache) = block.forward(x, keyMask: mask, context)
            let dX = block.backward(cache, dY: r, context)
            results.append(y.scalars + dX.scalars + allGradients(arena))
        }
        #expect(results[0].contains { $0 != 0 })
        expectBitwiseEqual(results[1], results[0], "2 threads vs 1")
        expectBitwiseEqual(results[2], results[0], "3 threads vs 1")
    }
}
