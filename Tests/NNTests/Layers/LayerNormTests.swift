import NN
import Testing
import TensorCore
import TestSupport

@Suite struct LayerNormLayerTests {
    @Test func registersWeightOnesThenBiasZeros() {
        var layout = ParameterLayout()
        _ = LayerNorm(name: "norm", width: 8, eps: 1e-6, layout: &layout)
        #expect(layout.views.map(\.name) == ["norm.weight", "norm.bias"])
        #expect(layout.views.map(\.initializer) == [.constant(1), .constant(0)])
    }

    /// Forward against a Double LayerNorm (biased variance, eps inside the root).
    @Test func forwardMatchesReference() {
        var layout = ParameterLayout()
        let norm = LayerNorm(name: "norm", width: 16, eps: 1e-6, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 1)
        perturbParameters(arena, tag: 2)
        let x = randomTensor([2, 5, 16], tag: 3, scale: 2)
        let (y, cache) = norm.forward(x, LayerContext(arena: arena))
        #expect(y.shape == x.shape && cache.mean.shape == [10] && cache.rstd.shape == [10])
        let xs = x.scalars, gamma = arena.parameter(norm.weight).scalars, beta = arena.parameter(norm.bias).scalars
        var expected: [Double] = []
        for row in 0..<10 {
            let values = xs[(row * 16)..<(row * 16 + 16)].map(Double.init)
            let mean = values.reduce(0, +) / 16
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 16
            let rstd = 1 / (variance + 1e-6).squareRoot()
            expected += values.indices.map { (values[$0] - mean) * rstd * Double(gamma[$0]) + Double(beta[$0]) }
        }
        expectClose(y.scalars, expected, atol: 1e-5, rtol: 1e-5, "LayerNorm forward")
    }

    @Test func gradientsMatchFiniteDifferences() {
        var layout = ParameterLayout()
        let norm = LayerNorm(name: "norm", width: 16, eps: 1e-6, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 1)
        perturbParameters(arena, tag: 4)
        let context = LayerContext(arena: arena)
        let x = randomTensor([2, 5, 16], tag: 5), r = randomTensor([2, 5, 16], tag: 6)
        let (_, cache) = norm.forward(x, context)
        let dX = Tensor(zeros: x.shape)
        norm.backward(x: x, cache: cache, dY: r, dX: dX, context)
        let probes = parameterProbes(arena, perTensor: 8, tag: 7) + inputProbes("x", x, gradient: dX, count: 16, tag: 8)
        checkGradients(probes) { weightedSum(norm.forward(x, context).0, r) }
    }
}
