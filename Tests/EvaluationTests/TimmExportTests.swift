import EOData
import Evaluation
import Foundation
import NN
import NeighborMAE
import TensorCore
import Testing
import Training
import TrainingTestSupport

// The timm export of a tiny random encoder (TinyRun: T 16, p 4, C 3, D 32, depth 2, 2 heads; G 4, L 16).
// timm's side is pinned by hand (key list and shapes as timm 1.0 prints them for these model_args); the
// numerical comparison with timm itself is scripts/check-export, which needs PyTorch and is not run here.

@Suite struct TimmExportTests {
    /// timm's `VisionTransformer(img_size=16, patch_size=4, in_chans=3, embed_dim=32, depth=2, num_heads=2,
    /// mlp_ratio=4, qkv_bias=True, class_token=True, global_pool="token", num_classes=0).state_dict()`.
    static let timmKeys: [(String, [Int])] = {
        var keys: [(String, [Int])] = [("cls_token", [1, 1, 32]), ("pos_embed", [1, 17, 32]),
                                       ("patch_embed.proj.weight", [32, 3, 4, 4]), ("patch_embed.proj.bias", [32])]
        for block in 0..<2 {
            keys += [("norm1.weight", [32]), ("norm1.bias", [32]), ("attn.qkv.weight", [96, 32]),
                     ("attn.qkv.bias", [96]), ("attn.proj.weight", [32, 32]), ("attn.proj.bias", [32]),
                     ("norm2.weight", [32]), ("norm2.bias", [32]), ("mlp.fc1.weight", [128, 32]),
                     ("mlp.fc1.bias", [128]), ("mlp.fc2.weight", [32, 128]), ("mlp.fc2.bias", [32])]
                .map { ("blocks.\(block).\($0.0)", $0.1) }
        }
        return keys + [("norm.weight", [32]), ("norm.bias", [32])]
    }()

    @Test func exactlyTimmsKeysAndShapes() throws {
        let run = try TinyCheckpoint()
        defer { run.remove() }
        let encoder = try run.load()
        let exported = TimmStateDict(model: encoder.model, arena: encoder.arena)
        #expect(exported.items.map(\.name) == Self.timmKeys.map(\.0))
        #expect(exported.items.map(\.shape) == Self.timmKeys.map(\.1))
        #expect(exported.parameterCount == Self.timmKeys.reduce(0) { $0 + $1.1.reduce(1, *) })
        #expect(exported.dropped.contains("mask_token") && exported.dropped.contains("decoder_pred.weight"))
        #expect(exported.dropped.allSatisfy { $0 == "mask_token" || $0.hasPrefix("decoder") })
        // Encoder tensors are copied bit for bit under the same names.
        for item in exported.items where item.name.hasPrefix("blocks.") || item.name.hasPrefix("norm.")
            || item.name == "cls_token" {
            #expect(item.values == encoder.parameter(item.name), "\(item.name)")
        }
        #expect(exported.items[3].values == encoder.parameter("patch_embed.bias"))
    }

    @Test func positionEmbeddingIsAZeroClsRowThenTheSingleImageTable() throws {
        let run = try TinyCheckpoint()
        defer { run.remove() }
        let encoder = try run.load()
        let positions = try #require(TimmStateDict(model: encoder.model, arena: encoder.arena).items
            .first { $0.name == "pos_embed" }).values                                     // [1, 1 + L, D]
        #expect(positions[0..<32].allSatisfy { $0 == 0 })
        #expect(Array(positions[32...]) == encoder.model.singleImagePositionEmbedding(arena: encoder.arena).scalars)
        // img_embed[0] is folded in: the table alone differs.
        #expect(Array(positions[32...]) != fourEdgePositionTable(gridSize: 4, width: 32).scalars)
    }

    /// A plain Conv2d (stride p, loops) with the exported weight and bias equals our patch embedding, a
    /// Linear on `patchify`d images. Tolerance 1e-5 abs + 1e-5 rel: 48-term float32 dot products summed in
    /// different orders (naive loop vs blocked GEMM); a mis-packed weight gives O(1) differences.
    @Test func convolutionWithTheExportedWeightsEqualsOurPatchEmbedding() throws {
        let run = try TinyCheckpoint()
        defer { run.remove() }
        let encoder = try run.load()
        let items = TimmStateDict(model: encoder.model, arena: encoder.arena).items
        let weight = try #require(items.first { $0.name == "patch_embed.proj.weight" }).values    // [D, C, p, p]
        let bias = try #require(items.first { $0.name == "patch_embed.proj.bias" }).values        // [D]
        let (n, c, t, p, d, g) = (2, 3, 16, 4, 32, 4)
        let image = Tensor(shape: [n, c, t, t], values: uniformValues(n * c * t * t, tag: 9))
        var convolution = [Float](repeating: 0, count: n * d * g * g)                         // [N, D, G, G]
        for b in 0..<n {
            for o in 0..<d {
                for i in 0..<g {
                    for j in 0..<g {
                        var sum = bias[o]
                        for channel in 0..<c {
                            for r in 0..<p {
                                for s in 0..<p {
                                    sum += weight[((o * c + channel) * p + r) * p + s]
                                        * image[b, channel, i * p + r, j * p + s]
                                }
                            }
                        }
                        convolution[((b * d + o) * g + i) * g + j] = sum
                    }
                }
            }
        }

        var layout = ParameterLayout()
        let linear = Linear(name: "patch_embed", inFeatures: p * p * c, outFeatures: d, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 0)
        arena.parameter(linear.weight).withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf:
            encoder.parameter("patch_embed.weight")) }
        arena.parameter(linear.bias!).withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf:
            encoder.parameter("patch_embed.bias")) }
        let ours = linear.forward(patchify(image, patchSize: p), LayerContext(arena: arena))      // [N, L, D]
        var oursAsConvolution = [Float](repeating: 0, count: n * d * g * g)
        for b in 0..<n {
            for patch in 0..<(g * g) {
                for o in 0..<d { oursAsConvolution[(b * d + o) * g * g + patch] = ours[b, patch, o] }
            }
        }
        expectClose(convolution, oursAsConvolution, atol: 1e-5, rtol: 1e-5)
    }

    @Test func writtenFilesReadBackWithOurReader() throws {
        let run = try TinyCheckpoint()
        defer { run.remove() }
        let encoder = try run.load()
        let reference = try ReferenceTiles.anchors(count: 3, config: encoder.config, stats: encoder.stats)
        let out = run.folder.appendingPathComponent("export")
        let report = try EncoderExport.write(encoder, reference: reference, to: out)
        #expect(report.referenceTiles == 3 && report.tensorCount == Self.timmKeys.count)

        let model = try SafeTensors(contentsOf: out.appendingPathComponent(EncoderExport.modelFile))
        let expected = TimmStateDict(model: encoder.model, arena: encoder.arena).items
        #expect(model.names == expected.map(\.name))
        for item in expected {
            #expect(model.entries[item.name]?.shape == item.shape, "\(item.name)")
            #expect(try model.floats(item.name) == item.values, "\(item.name)")
        }
        #expect(model.metadata["format"] == "pt" && model.metadata["step"] == "7")
        let args = try JSONDecoder().decode(TimmModelArgs.self, from: Data((model.metadata["model_args"] ?? "").utf8))
        #expect(args == TimmModelArgs(encoder.config.model))
        #expect(model.metadata["channel_mean"] == "[120,90,60]" && model.metadata["channel_std"] == "[50,40,30]")

        let config = try JSONDecoder().decode(ExportConfig.self,
                                              from: Data(contentsOf: out.appendingPathComponent("config.json")))
        #expect(config.modelArgs == args && config.layerNormEps == 1e-6 && config.input.shape == [3, 16, 16])
        #expect(config.input.mean == [120, 90, 60] && config.input.std == [50, 40, 30])
        #expect(config.source.step == 7 && config.files.reference == EncoderExport.referenceFile)

        let tiles = try SafeTensors(contentsOf: out.appendingPathComponent(EncoderExport.referenceFile))
        #expect(tiles.entries["images"]?.shape == [3, 3, 16, 16] && tiles.entries["features"]?.shape == [3, 17, 32])
        #expect(try tiles.floats("images") == reference.images.scalars)
        #expect(try tiles.floats("features") == encoder.encode(reference.images).scalars)
        // Real tiles: normalised values with spread, not a constant fill.
        #expect(Set(reference.images.scalars).count > 100)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: run.folder.path)
            .filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "temporary folders left: \(leftovers)")
    }

    @Test func refusesToOverwriteUnlessForced() throws {
        let run = try TinyCheckpoint()
        defer { run.remove() }
        let encoder = try run.load()
        let out = run.folder.appendingPathComponent("export")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let keep = out.appendingPathComponent("notes.txt")
        try Data("mine".utf8).write(to: keep)
        #expect(throws: ExportError.outputExists(out.path)) {
            try EncoderExport.write(encoder, reference: nil, to: out)
        }
        #expect(FileManager.default.fileExists(atPath: keep.path))
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent(EncoderExport.modelFile).path))

        try EncoderExport.write(encoder, reference: nil, to: out, force: true)
        #expect(!FileManager.default.fileExists(atPath: keep.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
                    == [EncoderExport.configFile, EncoderExport.modelFile])

        let empty = run.folder.appendingPathComponent("empty")              // an empty folder is fine
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try EncoderExport.write(encoder, reference: nil, to: empty)
        #expect(FileManager.default.fileExists(atPath: empty.appendingPathComponent(EncoderExport.modelFile).path))
    }

    @Test func aCorruptCheckpointIsAClearError() throws {
        let run = try TinyCheckpoint()
        defer { run.remove() }
        let file = run.checkpoint.appendingPathComponent(CheckpointStore.modelFile)
        var bytes = try Data(contentsOf: file)
        bytes[bytes.count - 5] ^= 0x40                                         // one bit of one parameter
        try bytes.write(to: file)
        let error = #expect(throws: CheckpointError.self) { try run.load() }
        #expect(error?.description.contains("model.safetensors does not match its SHA-256") == true,
                "\(String(describing: error))")
    }
}

// MARK: - Fixture

/// A run folder with the synthetic scene and one checkpoint (step 7) of the TinyRun model whose every
/// parameter is random, biases and LayerNorm included, so a dropped or swapped tensor changes results.
private struct TinyCheckpoint {
    let folder: URL
    let checkpoint: URL
    static let stats = ChannelStats(mean: [120, 90, 60], std: [50, 40, 30], pixelCount: [1, 1, 1], windowCount: 1)

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("timm-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let config = TinyRun.config(scene: try SyntheticScene.write(in: folder), steps: 8)
        let arena = ParameterArena(layout: NeighborMAEModel(config: config.model).layout, seed: 0)
        arena.parameters.withUnsafeMutableBufferPointer { values in
            let random = uniformValues(values.count, tag: 1, scale: 0.5)
            for i in values.indices { values[i] = random[i] }
        }
        checkpoint = try CheckpointStore(directory: folder.appendingPathComponent("checkpoints"))
            .write(TrainingState(step: 7, samplesConsumed: 56, arena: arena), config: config)
    }

    func load() throws -> PretrainedEncoder {
        try PretrainedEncoder.load(from: checkpoint, stats: Self.stats)
    }

    func remove() {
        try? FileManager.default.removeItem(at: folder)
    }
}

/// `count` values uniform in [−scale, scale) from Philox stream `tag`.
private func uniformValues(_ count: Int, tag: UInt32, scale: Float = 1) -> [Float] {
    var stream = CounterRNG(seed: 0xE4).stream(tag)
    return (0..<count).map { _ in (stream.nextUniform() * 2 - 1) * scale }
}

/// Elementwise |a − e| <= atol + rtol·|e|, reporting the first differences.
private func expectClose(_ actual: [Float], _ expected: [Float], atol: Float, rtol: Float,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, sourceLocation: sourceLocation)
    let bad = zip(actual, expected).enumerated().filter { !(abs($1.0 - $1.1) <= atol + rtol * abs($1.1)) }
    #expect(bad.isEmpty, "\(bad.count) differ, first \(bad.prefix(3).map { "[\($0.offset)] \($0.element)" })",
            sourceLocation: sourceLocation)
}

extension PretrainedEncoder {
    /// A parameter's values by name.
    fileprivate func parameter(_ name: String) -> [Float] {
        arena.parameter(model.layout.id(named: name)!).scalars
    }
}
