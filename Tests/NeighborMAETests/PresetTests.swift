import NN
import NeighborMAE
import TensorCore
import Testing

/// The larger preset must run, only slower (METHOD.md §11).
@Suite struct PresetTests {
    /// Parameters of one pre-norm ViT block of width w with MLP ratio 4 (2 LayerNorms, qkv, proj, fc1, fc2).
    static func blockParameters(_ w: Int) -> Int { 4 * w + (3 * w * w + 3 * w) + (w * w + w) + (4 * w * w + 4 * w) + (4 * w * w + w) }

    @Test func vitB16HasThePaperSizesAndTrainsOneStep() {
        let config = ModelConfig.vitB16
        #expect((try? config.validate()) != nil)
        #expect(config.maxVisiblePatches == 49 && config.minVisiblePatches == 29)
        #expect(config.encoderSequenceLength == 99 && config.decoderSequenceLength == 393)
        let model = NeighborMAEModel(config: config)
        let d = 768, e = 512, p = 768
        let expected = (p * d + d) + d + 2 * d + 12 * Self.blockParameters(d) + 2 * d
            + (d * e + e) + e + 2 * e + 8 * Self.blockParameters(e) + 2 * e + (e * p + p)
        #expect(model.layout.parameterCount == expected)

        // One forward + backward of a single pair: finite loss, a finite non-zero gradient for every tensor.
        let arena = ParameterArena(layout: model.layout, seed: 1)
        let pool = ThreadPool()
        var stream = CounterRNG(seed: 2).stream(0)
        let count = 2 * 3 * 224 * 224
        let images = Tensor(shape: [1, 2, 3, 224, 224], values: (0..<count).map { _ in stream.nextNormal() })
        let boxes = Tensor(shape: [1, 2, 4], values: [0, 32, 20, 10, 8, 28, 32, 0])
        let mask = MaskPlan(streams: [CounterRNG(seed: 3).stream(1)], visibleCounts: [40, 40], config: config)
        let context = LayerContext(arena: arena, pool: pool)
        let forward = model.forward(ModelBatch(images: images, boxes: boxes, mask: mask), context)
        #expect(forward.loss.weighted.isFinite && forward.loss.weighted > 0)
        model.backward(forward, context)
        for view in model.layout.views {
            let gradient = arena.gradient(model.layout.id(named: view.name)!).scalars
            let finite = gradient.allSatisfy { $0.isFinite }
            let nonZero = gradient.contains { $0 != 0 }
            #expect(finite && nonZero, "\(view.name)")
        }
    }
}
