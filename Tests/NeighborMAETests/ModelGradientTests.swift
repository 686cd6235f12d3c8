import Foundation
import NN
import NeighborMAE
import TensorCore
import Testing

@Suite struct ModelGradientTests {
    static let config = ModelConfig(imageSize: 16, patchSize: 4, encoderWidth: 32, encoderDepth: 2, encoderHeads: 2,
                                    decoderWidth: 16, decoderDepth: 1, decoderHeads: 2)

    /// A random batch of 2 pairs with overlapping boxes and a random mask.
    static func batch(seed: UInt64) -> ModelBatch {
        var stream = CounterRNG(seed: seed).stream(1)
        let c = config, count = 2 * 2 * c.channels * c.imageSize * c.imageSize
        let images = Tensor(shape: [2, 2, c.channels, c.imageSize, c.imageSize],
                            values: (0..<count).map { _ in stream.nextNormal() })
        let boxes = Tensor(shape: [2, 2, 4], values: [0, 32, 24, 8, 8, 24, 32, 0, 0, 32, 32, 0, 4, 28, 20, 12])
        let streams = (0..<2).map { CounterRNG(seed: seed).stream(2, UInt32($0)) }
        let mask = MaskPlan(streams: streams, visibleCounts: [3, 3, 4, 4], config: c)
        return ModelBatch(images: images, boxes: boxes, mask: mask)
    }

    /// Central finite differences of the whole model's weighted loss, with the weight map held at its
    /// value for the unperturbed parameters (the method's stop-gradient), against the analytic backward,
    /// at the largest-gradient entry of every parameter tensor.
    @Test func wholeModelGradientMatchesFiniteDifferences() {
        let model = NeighborMAEModel(config: Self.config)
        let arena = ParameterArena(layout: model.layout, seed: 5)
        let context = LayerContext(arena: arena)
        let batch = Self.batch(seed: 9)
        let base = model.forward(batch, context)
        arena.zeroGradients()
        model.backward(base, context)
        let gradients = arena.gradients.withUnsafeBufferPointer { Array($0) }

        func loss() -> Double {
            let output = model.forward(batch, context)
            return weightedPixelLoss(pred: output.pred, target: base.loss.target, weight: base.loss.weight,
                                     normalizer: Double(base.loss.invisibleCount))
        }
        // h = 1e-2: float32 forward noise ~1e-7·L/h ≈ 1e-5 in the quotient, truncation O(h²·L''') ≪ that.
        let h: Float = 1e-2
        var checked = 0
        for view in model.layout.views {
            let index = view.range.max { abs(gradients[$0]) < abs(gradients[$1]) }!
            let original = arena.parameters.withUnsafeBufferPointer { $0[index] }
            arena.parameters.withUnsafeMutableBufferPointer { $0[index] = original + h }
            let plus = loss()
            arena.parameters.withUnsafeMutableBufferPointer { $0[index] = original - h }
            let minus = loss()
            arena.parameters.withUnsafeMutableBufferPointer { $0[index] = original }
            let numeric = (plus - minus) / Double(2 * h), analytic = Double(gradients[index])
            #expect(abs(numeric - analytic) <= 2e-4 + 2e-2 * abs(analytic), "\(view.name): fd \(numeric) vs \(analytic)")
            checked += 1
        }
        #expect(checked == model.layout.views.count)
    }

    @Test func gradientsAreBitIdenticalForAnyThreadCount() {
        let model = NeighborMAEModel(config: Self.config)
        var results: [[Float]] = []
        for threads in [1, 2, 3] {
            let arena = ParameterArena(layout: model.layout, seed: 5)
            let context = LayerContext(arena: arena, pool: ThreadPool(threadCount: threads))
            let forward = model.forward(Self.batch(seed: 4), context)
            model.backward(forward, context)
            results.append(arena.gradients.withUnsafeBufferPointer { Array($0) })
        }
        #expect(results[0].map(\.bitPattern) == results[1].map(\.bitPattern))
        #expect(results[0].map(\.bitPattern) == results[2].map(\.bitPattern))
    }

    /// METHOD.md §10 spec test 6: key-masking the surplus tokens gives the same encoder outputs for the
    /// valid tokens as dropping them from the sequence.
    @Test func keyMaskingSurplusTokensEqualsDroppingThem() {
        var layout = ParameterLayout()
        let blocks = (0..<2).map { TransformerBlock(name: "blocks.\($0)", width: 32, heads: 2, mlpRatio: 4, eps: 1e-6,
                                                    layout: &layout) }
        let arena = ParameterArena(layout: layout, seed: 3)
        let context = LayerContext(arena: arena)
        let s = 9, valid = [true, true, false, true, true, false, false, true, false]   // cls + two images
        var stream = CounterRNG(seed: 8).stream(0)
        let padded = Tensor(shape: [1, s, 32], values: (0..<(s * 32)).map { _ in stream.nextNormal() })
        let keptRows = valid.indices.filter { valid[$0] }
        let dropped = Tensor(shape: [1, keptRows.count, 32], values: keptRows.flatMap { padded.scalars[($0 * 32)..<(($0 + 1) * 32)] })
        var x = padded, y = dropped
        for block in blocks {
            x = block.forward(x, keyMask: valid, context).0
            y = block.forward(y, keyMask: nil, context).0
        }
        let fromPadded = keptRows.flatMap { x.scalars[($0 * 32)..<(($0 + 1) * 32)] }
        let worst = zip(fromPadded, y.scalars).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-6, "max difference \(worst)")
    }
}
