import Foundation
import NN
import NeighborMAE
import TensorCore
import Testing
import TestSupport

/// The whole model against the PyTorch reference (scripts/reference/make_fixture.py, float64):
/// same weights, images, boxes and masks → same losses, weight map, reconstruction and every
/// parameter gradient, within float32 tolerances.
@Suite struct ReferenceFixtureTests {
    struct Fixture {
        let file: SafeTensors
        let config: ModelConfig
        let model: NeighborMAEModel
        let arena: ParameterArena
        let batch: ModelBatch

        init(_ name: String) throws {
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("Fixtures/\(name).safetensors")
            file = try SafeTensors(contentsOf: url)
            config = try JSONDecoder().decode(ModelConfig.self, from: Data(file.metadata["config"]!.utf8))
            try config.validate()
            model = NeighborMAEModel(config: config)
            arena = ParameterArena(layout: model.layout, seed: 0)
            for view in model.layout.views {
                let values = try file.floats("param.\(view.name)")
                #expect(file.entries["param.\(view.name)"]?.shape == view.shape, "\(view.name)")
                arena.parameters.withUnsafeMutableBufferPointer { all in
                    _ = UnsafeMutableBufferPointer(rebasing: all[view.range]).update(fromContentsOf: values)
                }
            }
            let images = try file.tensor("images"), boxes = try file.tensor("boxes")
            let shuffle = try file.integers("ids_shuffle").map { Int32($0) }
            let counts = try file.integers("len_keep")
            let mask = MaskPlan(shuffle: shuffle, visibleCounts: counts, batchSize: images.shape[0], config: config)
            batch = ModelBatch(images: images, boxes: boxes, mask: mask)
        }
    }

    @Test(arguments: ["neighbormae-tiny", "neighbormae-tiny-k1"])
    func parameterNamesAndShapesMatchTheReference(_ name: String) throws {
        let fixture = try Fixture(name)
        let ours = Set(fixture.model.layout.views.map { "param.\($0.name)" })
        let theirs = Set(fixture.file.entries.keys.filter { $0.hasPrefix("param.") })
        #expect(ours == theirs)
    }

    @Test(arguments: ["neighbormae-tiny", "neighbormae-tiny-k1"])
    func forwardMatchesTheReference(_ name: String) throws {
        let fixture = try Fixture(name)
        let forward = fixture.model.forward(fixture.batch, LayerContext(arena: fixture.arena))
        let file = fixture.file
        // Losses: sums of O(10³) float32 terms of O(1) against a float64 reference.
        expectClose([forward.loss.weighted], try file.floats("loss_weighted"), atol: 0, rtol: 2e-5, "\(name) L_weighted")
        expectClose([forward.loss.plain], try file.floats("loss_plain"), atol: 0, rtol: 2e-5, "\(name) L_plain")
        // Pixel-wise outputs: O(1) values through a few float32 layers.
        expectClose(forward.pred.scalars, try file.floats("pred"), atol: 2e-5, rtol: 1e-4, "\(name) pred")
        expectClose(forward.loss.target.scalars, try file.floats("target"), atol: 1e-5, rtol: 1e-5, "\(name) target")
        expectClose(forward.loss.weight.scalars, try file.floats("loss_weight"), atol: 2e-5, rtol: 1e-4, "\(name) weights")
        #expect(forward.loss.visibility.scalars == (try file.floats("visible")), "\(name) visibility")
        if fixture.config.imagesPerSample == 2 {
            expectClose(forward.loss.imageProjection.scalars, try file.floats("image_proj"), atol: 1e-5, rtol: 1e-5,
                        "\(name) image_proj")
            #expect(forward.loss.visibleProjection.scalars == (try file.floats("vis_proj")), "\(name) vis_proj")
        }
        // Encoder output rows that exist in both (cls and tokens with rank < n; see the fixture README).
        let expected = try file.floats("encoder_out"), actual = forward.encoderOut.scalars
        let c = fixture.config, d = c.encoderWidth, s = c.encoderSequenceLength, nMax = c.maxVisiblePatches
        var rows: [Int] = []
        for sample in 0..<fixture.batch.batchSize {
            rows.append(sample * s)
            for image in 0..<c.imagesPerSample {
                let n = fixture.batch.mask.visibleCounts[sample * c.imagesPerSample + image]
                rows += (0..<n).map { sample * s + 1 + image * nMax + $0 }
            }
        }
        let pick = { (values: [Float]) in rows.flatMap { values[($0 * d)..<(($0 + 1) * d)] } }
        expectClose(pick(actual), pick(expected), atol: 2e-5, rtol: 1e-4, "\(name) encoder_out")
    }

    @Test(arguments: ["neighbormae-tiny", "neighbormae-tiny-k1"])
    func everyParameterGradientMatchesTheReference(_ name: String) throws {
        let fixture = try Fixture(name)
        let context = LayerContext(arena: fixture.arena)
        let forward = fixture.model.forward(fixture.batch, context)
        fixture.arena.zeroGradients()
        fixture.model.backward(forward, context)
        for view in fixture.model.layout.views {
            let expected = try fixture.file.floats("grad.\(view.name)")
            let actual = fixture.arena.gradient(fixture.model.layout.id(named: view.name)!).scalars
            // float32 backward through ~10 layers against float64: relative to the tensor's own scale.
            let scale = Double(expected.map { abs($0) }.max() ?? 0)
            expectClose(actual, expected, atol: 1e-6 * scale + 1e-9, rtol: 1e-5, "\(name) grad.\(view.name)")
        }
    }

    /// The visible count the model's IoU rule gives for the fixture's boxes is the reference's len_keep.
    @Test func visibleCountsFollowFromTheBoxes() throws {
        let fixture = try Fixture("neighbormae-tiny")
        let boxes = fixture.batch.boxes.scalars.map(Double.init)
        for sample in 0..<fixture.batch.batchSize {
            let a = Array(boxes[(sample * 8)..<(sample * 8 + 4)]), b = Array(boxes[(sample * 8 + 4)..<(sample * 8 + 8)])
            let width = max(0, min(a[2], b[2]) - max(a[0], b[0])), height = max(0, min(a[1], b[1]) - max(a[3], b[3]))
            let inter = width * height
            let iou = inter / ((a[2] - a[0]) * (a[1] - a[3]) + (b[2] - b[0]) * (b[1] - b[3]) - inter)
            let n = visibleCount(iou: iou, config: fixture.config)
            #expect(Array(fixture.batch.mask.visibleCounts[(sample * 2)..<(sample * 2 + 2)]) == [n, n])
        }
    }
}
