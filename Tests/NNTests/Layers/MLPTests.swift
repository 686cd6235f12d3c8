import Foundation
import NN
import Testing
import TensorCore
import TestSupport

@Suite struct MLPTests {
    @Test func forwardIsFC2OfGELUOfFC1() {
        var layout = ParameterLayout()
        let mlp = MLP(name: "mlp", width: 8, hidden: 32, layout: &layout)
        #expect(layout.views.map(\.name) == ["mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"])
        let arena = ParameterArena(layout: layout, seed: 3)
        perturbParameters(arena, tag: 1)
        let context = LayerContext(arena: arena)
        let x = randomTensor([3, 8], tag: 2, scale: 2)
        let (y, cache) = mlp.forward(x, context)
        let hidden = mlp.fc1.forward(x, context).scalars
        expectBitwiseEqual(cache.hidden.scalars, hidden, "cached fc1 output")
        let w2 = arena.parameter(mlp.fc2.weight).scalars, b2 = arena.parameter(mlp.fc2.bias!).scalars
        var expected: [Double] = []
        for row in 0..<3 {
            let activated = (0..<32).map { i -> Double in
                let h = Double(hidden[row * 32 + i])
                return 0.5 * h * (1 + Foundation.erf(h / 2.0.squareRoot()))
            }
            expected += (0..<8).map { o in
                (0..<32).reduce(Double(b2[o])) { $0 + activated[$1] * Double(w2[o * 32 + $1]) }
            }
        }
        expectClose(y.scalars, expected, atol: 1e-5, rtol: 1e-5, "MLP forward")
    }

    @Test func gradientsMatchFiniteDifferences() {
        var layout = ParameterLayout()
        let mlp = MLP(name: "mlp", width: 16, hidden: 64, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 4)
        perturbParameters(arena, tag: 3)
        let context = LayerContext(arena: arena)
        let x = randomTensor([2, 5, 16], tag: 4), r = randomTensor([2, 5, 16], tag: 5)
        let (_, cache) = mlp.forward(x, context)
        let dX = Tensor(zeros: x.shape)
        mlp.backward(cache, dY: r, dX: dX, context)
        let probes = parameterProbes(arena, perTensor: 12, tag: 6)
            + inputProbes("x", x, gradient: dX, count: 16, tag: 7)
        checkGradients(probes) { weightedSum(mlp.forward(x, context).0, r) }
    }
}
