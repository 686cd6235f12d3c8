import NN
import Testing
import TensorCore
import TestSupport

/// The fast paths that skip zero fills: `overwritingDX` backward into a NaN-filled dX gives what the
/// accumulating backward gives into a zeroed dX (and the same parameter gradients); Linear's bias
/// options split the bias off without changing results. Compared with `==` (−0 equals +0, NaN fails).
@Suite struct OverwritingBackwardTests {
    private static func arena(_ layout: ParameterLayout, seed: UInt64) -> ParameterArena {
        let arena = ParameterArena(layout: layout, seed: seed)
        perturbParameters(arena, tag: 7)
        return arena
    }

    /// Runs `backward(dX, overwriting)` once accumulating into zeros and once overwriting a NaN-filled
    /// dX, each from zeroed gradients, and expects equal dX and equal parameter gradients.
    private func expectOverwriteEqualsAccumulate(
        _ what: String, shape: [Int], arena: ParameterArena, _ backward: (Tensor, Bool) -> Void
    ) {
        let accumulated = Tensor(zeros: shape)
        arena.zeroGradients()
        backward(accumulated, false)
        let gradients = allGradients(arena)
        let overwritten = Tensor(zeros: shape)
        overwritten.fill(.nan)
        arena.zeroGradients()
        backward(overwritten, true)
        #expect(overwritten.scalars == accumulated.scalars, "\(what): dX")
        #expect(allGradients(arena) == gradients, "\(what): parameter gradients")
        #expect(gradients.contains { $0 != 0 })
    }

    @Test func linear() {
        var layout = ParameterLayout()
        let linear = Linear(name: "fc", inFeatures: 20, outFeatures: 36, layout: &layout)
        let arena = Self.arena(layout, seed: 1)
        let context = LayerContext(arena: arena)
        let x = randomTensor([3, 7, 20], tag: 1), dY = randomTensor([3, 7, 36], tag: 2)
        expectOverwriteEqualsAccumulate("Linear", shape: x.shape, arena: arena) { dX, overwriting in
            linear.backward(x: x, dY: dY, dX: dX, context, overwritingDX: overwriting)
        }
        // forward without the bias, plus biasAddForward, is the forward bitwise.
        let plain = linear.forward(x, addingBias: false, context)
        plain.withUnsafeMutableBufferPointer { yb in
            arena.parameter(linear.bias!).withUnsafeBufferPointer { bb in
                biasAddForward(yb, bias: bb, rows: 21, columns: 36)
            }
        }
        expectBitwiseEqual(plain.scalars, linear.forward(x, context).scalars, "forward(addingBias: false) + bias")
        // includingBias: false leaves db at zero and dW as before.
        arena.zeroGradients()
        linear.backward(x: x, dY: dY, dX: nil, context)
        let withBias = arena.gradient(linear.weight).scalars
        arena.zeroGradients()
        linear.backward(x: x, dY: dY, dX: nil, context, includingBias: false)
        #expect(arena.gradient(linear.weight).scalars == withBias)
        #expect(arena.gradient(linear.bias!).scalars.allSatisfy { $0 == 0 })
    }

    @Test func mlp() {
        var layout = ParameterLayout()
        let mlp = MLP(name: "mlp", width: 16, hidden: 64, layout: &layout)
        let arena = Self.arena(layout, seed: 2)
        let context = LayerContext(arena: arena, pool: ThreadPool(threadCount: 2))
        let x = randomTensor([4, 9, 16], tag: 3, scale: 2), dY = randomTensor([4, 9, 16], tag: 4)
        let (_, cache) = mlp.forward(x, context)
        expectOverwriteEqualsAccumulate("MLP", shape: x.shape, arena: arena) { dX, overwriting in
            mlp.backward(cache, dY: dY, dX: dX, context, overwritingDX: overwriting)
        }
    }

    @Test func attention() {
        var layout = ParameterLayout()
        let attention = Attention(name: "attn", width: 16, heads: 2, layout: &layout)
        let arena = Self.arena(layout, seed: 3)
        let context = LayerContext(arena: arena, pool: ThreadPool(threadCount: 2))
        let x = randomTensor([3, 6, 16], tag: 5), dY = randomTensor([3, 6, 16], tag: 6)
        let mask = (0..<18).map { $0 % 4 != 1 }
        let (_, cache) = attention.forward(x, keyMask: mask, context)
        expectOverwriteEqualsAccumulate("Attention", shape: x.shape, arena: arena) { dX, overwriting in
            attention.backward(cache, dY: dY, dX: dX, context, overwritingDX: overwriting)
        }
    }
}
