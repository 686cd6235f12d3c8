import Foundation
import NN
import NeighborMAE
import TensorCore

/// `step --profile`: a coarse breakdown of the step. The whole-step phases (zero gradients, forward,
/// backward, AdamW) are timed inside the real steps; the encoder and decoder blocks are timed standalone
/// (one block of each kind on the step's shapes, its qkv / proj linears and MLP separately) and scaled
/// by the depth. "Rest" of forward or backward = the phase minus the blocks: patchify, embeddings and
/// position codes, token gathers, decoder_embed / decoder_pred, norms and the loss with cross-projection.
struct StepProfile {
    let config: ModelConfig
    let batch: ModelBatch
    let pool: ThreadPool
    let flops: StepFLOPs
    var repeats = 5

    func report(_ phases: [StepPhases]) {
        let c = config, b = batch.batchSize, threads = pool.threadCount
        let forward = StepPhases.median(phases.map(\.forward)), backward = StepPhases.median(phases.map(\.backward))
        let total = StepPhases.median(phases.map(\.total))
        let encoder = time(width: c.encoderWidth, heads: c.encoderHeads, sequence: c.encoderSequenceLength,
                           keyMask: batch.mask.encoderKeyMask)
        let decoder = time(width: c.decoderWidth, heads: c.decoderHeads, sequence: c.decoderSequenceLength,
                           keyMask: nil)
        let (ed, dd) = (Double(c.encoderDepth), Double(c.decoderDepth))
        let encoderFLOPs = StepFLOPs.block(rows: b * c.encoderSequenceLength, sequence: c.encoderSequenceLength,
                                           samples: b, width: c.encoderWidth, ratio: c.mlpRatio)
        let decoderFLOPs = StepFLOPs.block(rows: b * c.decoderSequenceLength, sequence: c.decoderSequenceLength,
                                           samples: b, width: c.decoderWidth, ratio: c.mlpRatio)
        var rows: [(String, Double, Double)] = [
            ("encoder blocks fwd", ed * encoder.blockForward, ed * encoderFLOPs),
            ("decoder blocks fwd", dd * decoder.blockForward, dd * decoderFLOPs),
            ("rest of forward (embed, PE, gathers, pred, loss)",
             forward - ed * encoder.blockForward - dd * decoder.blockForward, 0),
            ("decoder blocks bwd", dd * decoder.blockBackward, 2 * dd * decoderFLOPs),
            ("encoder blocks bwd", ed * encoder.blockBackward, 2 * ed * encoderFLOPs),
            ("rest of backward", backward - ed * encoder.blockBackward - dd * decoder.blockBackward, 0),
            ("AdamW", StepPhases.median(phases.map(\.adamW)), 0),
            ("zero gradients", StepPhases.median(phases.map(\.zero)), 0),
        ]
        rows += restDetail()
        for (name, part) in [("encoder", encoder), ("decoder", decoder)] {
            let depth = name == "encoder" ? ed : dd
            rows += part.detail.map { ("  \(name) \($0.0) (fwd+bwd)", depth * $0.1, depth * $0.2) }
        }
        print(String(format: "[profile] threads %d: step %.1f ms (forward %.1f, backward %.1f)", threads,
                     total * 1e3, forward * 1e3, backward * 1e3))
        for (name, seconds, work) in rows {
            let rate = work > 0 ? String(format: "%7.1f GFLOP/s", work / seconds / 1e9) : ""
            print("[profile]   " + name.padding(toLength: 62, withPad: " ", startingAt: 0)
                  + String(format: "%8.1f ms %5.1f %%  ", seconds * 1e3, 100 * seconds / total) + rate)
        }
    }

    /// Standalone medians of the biggest parts of "rest": the loss (norm-pix targets, cross-projection,
    /// smoothed weights) forward and backward, the two position-embedding tables, and the three linears
    /// outside the blocks (patch_embed without dX, decoder_embed, decoder_pred), fwd+bwd.
    private func restDetail() -> [(String, Double, Double)] {
        let c = config, b = batch.batchSize, images = batch.images, pool = pool
        let pred = Self.random(images.shape, seed: 4)
        let visibility = batch.mask.pixelVisibility(geometry: PatchGeometry(c))
        let loss = neighborLossForward(pred: pred, images: images, visibility: visibility, boxes: batch.boxes,
                                       config: c, pool: pool)
        let lossForward = median {
            _ = neighborLossForward(pred: pred, images: images, visibility: visibility, boxes: batch.boxes,
                                    config: c, pool: pool)
        }
        let lossBackward = median {
            neighborLossBackward(pred: pred, output: loss, dPred: Tensor(zeros: pred.shape), pool: pool)
        }
        let positions = median {
            _ = fourEdgePositionEmbedding(boxes: batch.boxes, gridSize: c.gridSize, width: c.encoderWidth, pool: pool)
            _ = fourEdgePositionEmbedding(boxes: batch.boxes, gridSize: c.gridSize, width: c.decoderWidth, pool: pool)
        }
        var layout = ParameterLayout()
        let k = c.imagesPerSample, s = c.encoderSequenceLength
        let shapes = [(b * k * c.maxVisiblePatches, c.patchDimension, c.encoderWidth),    // (rows, in, out)
                      (b * s, c.encoderWidth, c.decoderWidth),
                      (b * k * c.patchesPerImage, c.decoderWidth, c.patchDimension)]
        let linears = shapes.enumerated().map { Linear(name: "l\($0.offset)", inFeatures: $0.element.1,
                                                       outFeatures: $0.element.2, layout: &layout) }
        let context = LayerContext(arena: ParameterArena(layout: layout, seed: 7), pool: pool)
        var linearSeconds = 0.0, linearFLOPs = 0.0
        for (index, (linear, shape)) in zip(linears, shapes).enumerated() {
            let x = Self.random([shape.0, shape.1], seed: UInt32(10 + index))
            let dY = Self.random([shape.0, shape.2], seed: UInt32(20 + index))
            let dX: Tensor? = index == 0 ? nil : Tensor(zeros: x.shape)
            linearSeconds += median { _ = linear.forward(x, context) }
                + median { linear.backward(x: x, dY: dY, dX: dX, context) }
            linearFLOPs += StepFLOPs.gemm(shape.0, shape.2, shape.1) * (index == 0 ? 2 : 3)
        }
        return [
            ("  loss fwd (norm-pix, cross-projection, weights)", lossForward, 0),
            ("  loss bwd", lossBackward, 0),
            ("  position embeddings (D and E tables)", positions, 0),
            ("  patch_embed, decoder_embed, decoder_pred (fwd+bwd)", linearSeconds, linearFLOPs),
        ]
    }

    /// Standalone medians of one block (and its parts) on [B, sequence, width].
    private func time(width: Int, heads: Int, sequence: Int, keyMask: [Bool]?) -> BlockTimes {
        var layout = ParameterLayout()
        let block = TransformerBlock(name: "b", width: width, heads: heads, mlpRatio: config.mlpRatio,
                                     eps: config.layerNormEpsilon, layout: &layout)
        let context = LayerContext(arena: ParameterArena(layout: layout, seed: 7), pool: pool)
        let rows = batch.batchSize * sequence
        let x = Self.random([batch.batchSize, sequence, width], seed: 1)
        let dY = Self.random([batch.batchSize, sequence, width], seed: 2)
        let dQKV = Self.random([batch.batchSize, sequence, 3 * width], seed: 3)
        let (_, cache) = block.forward(x, keyMask: keyMask, context)
        let (_, attentionCache) = block.attention.forward(x, keyMask: keyMask, context)
        let (_, mlpCache) = block.mlp.forward(x, context)
        let attention = block.attention
        var times = BlockTimes()
        times.blockForward = median { _ = block.forward(x, keyMask: keyMask, context) }
        times.blockBackward = median { _ = block.backward(cache, dY: dY, context) }
        let qkv = median { _ = attention.qkv.forward(x, context) }
            + median { attention.qkv.backward(x: x, dY: dQKV, dX: Tensor(zeros: x.shape), context) }
        let proj = median { _ = attention.proj.forward(x, context) }
            + median { attention.proj.backward(x: x, dY: dY, dX: Tensor(zeros: x.shape), context) }
        let attentionAll = median { _ = attention.forward(x, keyMask: keyMask, context) }
            + median { attention.backward(attentionCache, dY: dY, dX: Tensor(zeros: x.shape), context) }
        let mlp = median { _ = block.mlp.forward(x, context) }
            + median { block.mlp.backward(mlpCache, dY: dY, dX: Tensor(zeros: x.shape), context) }
        let products = StepFLOPs.attentionProducts(sequence: sequence, samples: batch.batchSize, width: width)
        times.detail = [
            ("qkv linear", qkv, 3 * StepFLOPs.gemm(rows, 3 * width, width)),
            ("attention core (scores, softmax, A·V)", attentionAll - qkv - proj, 3 * products),
            ("proj linear", proj, 3 * StepFLOPs.gemm(rows, width, width)),
            ("MLP (fc1, GELU, fc2)", mlp, 6 * StepFLOPs.gemm(rows, config.mlpRatio * width, width)),
            ("norms + residuals", times.blockForward + times.blockBackward - attentionAll - mlp, 0),
        ]
        return times
    }

    private func median(_ body: () -> Void) -> Double {
        body()
        let samples = (0..<repeats).map { _ in
            let start = DispatchTime.now()
            body()
            return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        }
        return StepPhases.median(samples)
    }

    private static func random(_ shape: [Int], seed: UInt32) -> Tensor {
        let tensor = Tensor(zeros: shape)
        var stream = CounterRNG(seed: 99).stream(seed)
        tensor.withUnsafeMutableBufferPointer { stream.fillNormal($0) }
        return tensor
    }
}

/// Seconds of one block's forward and backward, and (name, fwd+bwd seconds, fwd+bwd FLOPs) of its parts.
struct BlockTimes {
    var blockForward = 0.0
    var blockBackward = 0.0
    var detail: [(String, Double, Double)] = []
}
