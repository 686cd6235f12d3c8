import NeighborMAE
import TensorCore
import Testing
import TestSupport

@Suite("NeighborMAE loss backward: finite differences, accumulation, determinism")
struct LossGradientTests {
    static let batch = LossBatch(boxes: LossBatch.overlapping + LossBatch.partial + LossBatch.disjoint, seed: 5)

    static func gradient(_ batch: LossBatch, _ output: LossOutput, objective: LossObjective = .weighted,
                         pool: ThreadPool? = nil) -> [Float] {
        let dPred = Tensor(zeros: batch.pred.shape)
        neighborLossBackward(pred: batch.pred, output: output, dPred: dPred, objective: objective, pool: pool)
        return dPred.scalars
    }

    /// Central differences with float32 steps (the step actually taken, Float(x + h) − Float(x − h), is the
    /// divisor). With the weights held fixed the loss is quadratic in each prediction, so the difference
    /// quotient is exact up to the Double rounding of the sums (~1e-13 here); the analytic gradient is
    /// stored as float32 (relative 6e-8). Tolerance: 1e-6 relative + 1e-10 absolute.
    static func checkFiniteDifferences(_ batch: LossBatch, analytic: [Float], tag: UInt32,
                                       loss: (Tensor) -> Double, sourceLocation: SourceLocation = #_sourceLocation) {
        var stream = CounterRNG(seed: 21).stream(tag)
        let values = batch.pred.scalars
        var numeric: [Double] = [], expected: [Float] = []
        for _ in 0..<80 {
            let index = stream.nextInt(below: values.count)
            var plus = values, minus = values
            plus[index] += 0.01
            minus[index] -= 0.01
            let step = Double(plus[index]) - Double(minus[index])
            numeric.append((loss(Tensor(shape: batch.pred.shape, values: plus))
                                - loss(Tensor(shape: batch.pred.shape, values: minus))) / step)
            expected.append(analytic[index])
        }
        #expect(expected.contains { $0 != 0 }, sourceLocation: sourceLocation)
        expectClose(numeric, expected, atol: 1e-10, rtol: 1e-6, "finite differences", sourceLocation: sourceLocation)
    }

    /// The weighted loss with the forward's weights held fixed (stop-gradient, METHOD.md §8.10).
    @Test func weightedGradientMatchesFiniteDifferences() {
        let batch = Self.batch, output = batch.forward()
        let n = Double(output.invisibleCount)
        #expect(weightedPixelLoss(pred: batch.pred, target: output.target, weight: output.weight, normalizer: n)
                    == output.weighted)
        Self.checkFiniteDifferences(batch, analytic: Self.gradient(batch, output), tag: 1) {
            weightedPixelLoss(pred: $0, target: output.target, weight: output.weight, normalizer: n)
        }
    }

    @Test func plainGradientMatchesFiniteDifferences() {
        let batch = Self.batch, output = batch.forward()
        let invisible = Tensor(shape: batch.visibility.shape, values: batch.visibility.scalars.map { 1 - $0 })
        Self.checkFiniteDifferences(batch, analytic: Self.gradient(batch, output, objective: .plain), tag: 2) {
            weightedPixelLoss(pred: $0, target: output.target, weight: invisible,
                              normalizer: Double(output.invisibleCount))
        }
    }

    /// For a disjoint pair the weights do not depend on the prediction, so the full forward is differentiable
    /// as is and its finite differences must match the backward.
    @Test func fullForwardOfDisjointPairMatchesFiniteDifferences() {
        let batch = LossBatch(boxes: LossBatch.disjoint + LossBatch.disjoint, seed: 6)
        Self.checkFiniteDifferences(batch, analytic: Self.gradient(batch, batch.forward()), tag: 3) {
            batch.forward(pred: $0).weighted
        }
    }

    @Test func backwardAccumulatesAndScales() {
        let batch = Self.batch, output = batch.forward()
        let base = randomValues(batch.pred.count, tag: 60)
        let dPred = Tensor(shape: batch.pred.shape, values: base)
        neighborLossBackward(pred: batch.pred, output: output, dPred: dPred)
        neighborLossBackward(pred: batch.pred, output: output, dPred: dPred, scale: 0.5)
        let g = Self.gradient(batch, output)
        expectClose(dPred.scalars, zip(base, g).map { Double($0) + 1.5 * Double($1) }, atol: 1e-7, rtol: 1e-6,
                    "base + 1.5·gradient")
    }

    @Test func gradientIsZeroWhereTheWeightIsZero() {
        let batch = Self.batch, output = batch.forward()
        let g = Self.gradient(batch, output), w = output.weight.scalars, plane = 16 * 16
        for index in g.indices {
            let pixel = (index / (3 * plane)) * plane + index % plane
            if w[pixel] == 0 && g[index] != 0 { Issue.record("gradient \(g[index]) at weight 0, element \(index)") }
        }
    }

    @Test func independentOfThreadCount() {
        let batch = Self.batch, pool = ThreadPool(threadCount: 2)
        let one = batch.forward(), two = batch.forward(pool: pool)
        #expect(one.weighted.bitPattern == two.weighted.bitPattern && one.plain.bitPattern == two.plain.bitPattern)
        for (a, b, name) in [(one.weight, two.weight, "weight"), (one.target, two.target, "target"),
                             (one.imageProjection, two.imageProjection, "image_proj"),
                             (one.visibleProjection, two.visibleProjection, "vis_proj"),
                             (one.pixelError, two.pixelError, "e")] {
            expectBitwiseEqual(b.scalars, a.scalars, "\(name) with 2 threads")
        }
        expectBitwiseEqual(Self.gradient(batch, two, pool: pool), Self.gradient(batch, one), "dPred with 2 threads")
    }
}
