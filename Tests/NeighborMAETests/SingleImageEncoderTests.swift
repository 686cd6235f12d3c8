import NN
import NeighborMAE
import TensorCore
import Testing

@Suite struct SingleImageEncoderTests {
    static let base = ModelConfig(imageSize: 16, patchSize: 4, encoderWidth: 32, encoderDepth: 2, encoderHeads: 2,
                                  decoderWidth: 16, decoderDepth: 1, decoderHeads: 2)

    static func images(count n: Int, config c: ModelConfig, seed: UInt64) -> Tensor {
        var stream = CounterRNG(seed: seed).stream(3)
        let total = n * c.channels * c.imageSize * c.imageSize
        return Tensor(shape: [n, c.channels, c.imageSize, c.imageSize],
                      values: (0..<total).map { _ in stream.nextNormal() })
    }

    /// With K = 1 and nothing masked, the training forward's encoder sees exactly the single-image tokens
    /// (identity shuffle keeps raster order), so both paths must agree row for row.
    @Test func matchesTheTrainingEncoderWithNothingMasked() {
        var config = Self.base
        config.imagesPerSample = 1
        config.maskRatioMin = 0
        config.maskRatioMax = 0
        let model = NeighborMAEModel(config: config)
        let arena = ParameterArena(layout: model.layout, seed: 11)
        let context = LayerContext(arena: arena)
        let n = 3, l = config.patchesPerImage
        let images = Self.images(count: n, config: config, seed: 2)
        let shuffle = (0..<n).flatMap { _ in (0..<l).map(Int32.init) }
        let mask = MaskPlan(shuffle: shuffle, visibleCounts: Array(repeating: l, count: n), batchSize: n,
                            config: config)
        let batch = ModelBatch(images: images.reshaped([n, 1, config.channels, config.imageSize, config.imageSize]),
                               boxes: Tensor(zeros: [n, 1, 4]), mask: mask)
        let training = model.forward(batch, context).encoderOut.scalars
        let single = model.encodeSingleImages(images, context)
        #expect(single.shape == [n, 1 + l, config.encoderWidth])
        let worst = zip(training, single.scalars).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-5, "largest difference \(worst)")
    }

    /// The single-image table is the full-frame four-edge table plus slot 0's embedding, for a K = 2 model.
    @Test func positionEmbeddingIsTheFullFrameTablePlusSlotZero() {
        let model = NeighborMAEModel(config: Self.base)
        let arena = ParameterArena(layout: model.layout, seed: 4)
        let d = Self.base.encoderWidth
        let view = model.layout.views.first { $0.name == "img_embed" }!
        let slot = arena.parameters.withUnsafeBufferPointer { Array($0[view.range]) }
        let table = fourEdgePositionTable(box: .fullFrame, gridSize: Self.base.gridSize, width: d).scalars
        let embedded = model.singleImagePositionEmbedding(arena: arena).scalars
        #expect(embedded.count == Self.base.patchesPerImage * d)
        for (index, value) in embedded.enumerated() {
            #expect(value == table[index] + slot[index % d])
            if value != table[index] + slot[index % d] { break }
        }
    }

    /// Features depend on each image alone (no batch coupling) and on the image's content.
    @Test func featuresOfAnImageDoNotDependOnItsBatch() {
        let model = NeighborMAEModel(config: Self.base)
        let context = LayerContext(arena: ParameterArena(layout: model.layout, seed: 8))
        let c = Self.base, plane = c.channels * c.imageSize * c.imageSize
        let images = Self.images(count: 4, config: c, seed: 6)
        let all = model.encodeSingleImages(images, context).scalars
        let second = Tensor(shape: [1, c.channels, c.imageSize, c.imageSize],
                            values: Array(images.scalars[plane..<(2 * plane)]))
        let alone = model.encodeSingleImages(second, context).scalars
        let rows = alone.count
        #expect(Array(all[rows..<(2 * rows)]) == alone)
        #expect(Array(all[0..<rows]) != alone)
    }
}
