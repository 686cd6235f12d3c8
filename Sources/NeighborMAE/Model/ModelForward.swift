import NN
import TensorCore

/// What the forward pass keeps for the backward pass, plus the outputs.
public struct ModelForward: Sendable {
    public let batch: ModelBatch
    /// Encoder input rows [B·K·n_max, P]: the kept patches (input of patch_embed).
    let keptPatches: Tensor
    let encoderCaches: [BlockCache]
    /// Encoder blocks' output [B, S, D] (input of the final norm).
    let encoderBlocksOut: Tensor
    let normCache: LayerNormCache
    /// [B, S, D]: the encoder's output after its final LayerNorm (before decoder_embed).
    public let encoderOut: Tensor
    let decoderCaches: [BlockCache]
    /// Decoder blocks' output without the cls rows, [B·K·L, E] (input of decoder_norm).
    let decoderRows: Tensor
    let decoderNormCache: LayerNormCache
    /// [B·K·L, E], the input of decoder_pred.
    let decoderNormOut: Tensor
    /// [B, K, C, T, T]: the reconstruction in image layout (raster order).
    public let pred: Tensor
    public let loss: LossOutput
}

extension NeighborMAEModel {
    /// Runs encoder, decoder and loss (METHOD.md §9 steps 1–7). The decoder sees every image's slots in
    /// raster order (the reference shuffles then unshuffles; attention without positional bias is
    /// permutation-equivariant, so this is the same function).
    public func forward(_ batch: ModelBatch, _ context: LayerContext) -> ModelForward {
        let c = config, b = batch.batchSize, k = c.imagesPerSample, nMax = c.maxVisiblePatches
        let l = c.patchesPerImage, d = c.encoderWidth, e = c.decoderWidth, s = c.encoderSequenceLength
        precondition(batch.images.shape == [b, k, c.channels, c.imageSize, c.imageSize],
                     "NeighborMAEModel.forward: images \(batch.images.shape) do not fit the config")
        let arena = context.arena, pool = context.pool

        // 1–3. Patches, kept rows, position embeddings (+ slot embeddings).
        let patches = patchify(batch.images, patchSize: c.patchSize, pool: pool)          // [B, K, L, P]
        let kept = batch.mask.keptIndices                                                  // [B, K, n_max]
        let keptPatches = gatherImageRows(patches, indices: kept, rowsPerImage: l, keepPerImage: nMax)
        let encoderPE = positionEmbedding(batch, width: d, slot: arena.parameter(imageEmbed), pool: pool)
        let decoderPE = positionEmbedding(batch, width: e, slot: arena.parameter(decoderImageEmbed), pool: pool)

        // 4–5. Encoder tokens [B, S, D]: cls, then per image its kept tokens + PE; blocks with the key mask.
        let embedded = patchEmbed.forward(keptPatches, context)                            // [B·K·n_max, D]
        addGatheredRows(encoderPE, indices: kept, rowsPerImage: l, keepPerImage: nMax, into: embedded)
        var x = prependRow(arena.parameter(clsToken), to: embedded, samples: b, rowsPerSample: k * nMax)
        let keyMask = batch.mask.encoderKeyMask
        var encoderCaches: [BlockCache] = []
        for block in blocks {
            let (y, cache) = block.forward(x, keyMask: keyMask, context)
            encoderCaches.append(cache)
            x = y
        }
        let (encoderOut, normCache) = norm.forward(x, context)
        let latent = decoderEmbed.forward(encoderOut, context).reshaped([b, s, e])

        // 6. Decoder tokens [B, Q, E] in raster order: visible slots carry their encoder token, the others
        // the mask token; + decoder PE; cls (zero PE) first. No key mask.
        var y = decoderTokens(latent: latent, mask: batch.mask, positions: decoderPE,
                              maskToken: arena.parameter(maskToken))
        var decoderCaches: [BlockCache] = []
        for block in decoderBlocks {
            let (next, cache) = block.forward(y, keyMask: nil, context)
            decoderCaches.append(cache)
            y = next
        }
        let decoderRows = dropFirstRow(y, samples: b, rowsPerSample: k * l)                 // [B·K·L, E]
        let (decoderNormOut, decoderNormCache) = decoderNorm.forward(decoderRows, context)
        let predPatches = decoderPred.forward(decoderNormOut, context).reshaped([b, k, l, c.patchDimension])
        let pred = unpatchify(predPatches, geometry: PatchGeometry(c), pool: pool)

        // 7. Loss on full-resolution images.
        let visibility = batch.mask.pixelVisibility(geometry: PatchGeometry(c))
        let loss = neighborLossForward(pred: pred, images: batch.images, visibility: visibility,
                                       boxes: k == 2 ? batch.boxes : nil, config: c, pool: pool)
        return ModelForward(batch: batch, keptPatches: keptPatches, encoderCaches: encoderCaches,
                            encoderBlocksOut: x, normCache: normCache, encoderOut: encoderOut,
                            decoderCaches: decoderCaches, decoderRows: decoderRows,
                            decoderNormCache: decoderNormCache, decoderNormOut: decoderNormOut, pred: pred,
                            loss: loss)
    }

    /// Four-edge sin-cos table per image from the pair-frame boxes (K = 2) or the full-frame table
    /// (K = 1), plus the slot embedding of each image: [B, K, L, width].
    func positionEmbedding(_ batch: ModelBatch, width: Int, slot: Tensor, pool: ThreadPool?) -> Tensor {
        let c = config, b = batch.batchSize, k = c.imagesPerSample, l = c.patchesPerImage
        let table: Tensor
        if k == 1 {
            let single = fourEdgePositionTable(gridSize: c.gridSize, width: width)
            table = Tensor(zeros: [b, 1, l, width])
            table.withUnsafeMutableBufferPointer { out in
                single.withUnsafeBufferPointer { row in
                    for n in 0..<b { _ = UnsafeMutableBufferPointer(rebasing: out[(n * l * width)...]).update(fromContentsOf: row) }
                }
            }
        } else {
            table = fourEdgePositionEmbedding(boxes: batch.boxes, gridSize: c.gridSize, width: width, pool: pool)
        }
        table.withUnsafeMutableBufferPointer { out in
            slot.withUnsafeBufferPointer { slots in
                for image in 0..<(b * k) {
                    let embedding = UnsafeBufferPointer(rebasing: slots[((image % k) * width)..<((image % k + 1) * width)])
                    for patch in 0..<l {
                        let row = UnsafeMutableBufferPointer(rebasing: out[((image * l + patch) * width)...].prefix(width))
                        accumulate(embedding, into: row, count: width)
                    }
                }
            }
        }
        return table
    }

    /// Decoder input [B, Q, E]: row 0 = the encoder's cls latent (zero PE); row 1 + k·L + l = the latent of
    /// patch l's token if visible (rank r < n: encoder row 1 + k·n_max + r) else the mask token, + PE.
    func decoderTokens(latent: Tensor, mask: MaskPlan, positions: Tensor, maskToken: Tensor) -> Tensor {
        let c = config, b = mask.batchSize, k = c.imagesPerSample, l = c.patchesPerImage
        let e = c.decoderWidth, nMax = c.maxVisiblePatches, s = c.encoderSequenceLength, q = c.decoderSequenceLength
        let out = Tensor(zeros: [b, q, e])
        let restore = mask.restore, counts = mask.visibleCounts
        withBuffers([latent, positions, maskToken]) { inputs in
            out.withUnsafeMutableBufferPointer { tokens in
                let (z, pe, token) = (inputs[0], inputs[1], inputs[2])
                for sample in 0..<b {
                    copyRow(z, from: sample * s, into: tokens, at: sample * q, width: e)
                    for image in 0..<k {
                        let n = sample * k + image
                        for patch in 0..<l {
                            let rank = Int(restore[n * l + patch])
                            let row = sample * q + 1 + image * l + patch
                            if rank < counts[n] {
                                copyRow(z, from: sample * s + 1 + image * nMax + rank, into: tokens, at: row, width: e)
                            } else {
                                copyRow(token, from: 0, into: tokens, at: row, width: e)
                            }
                            let target = UnsafeMutableBufferPointer(rebasing: tokens[(row * e)..<((row + 1) * e)])
                            accumulate(UnsafeBufferPointer(rebasing: pe[((n * l + patch) * e)..<((n * l + patch + 1) * e)]),
                                       into: target, count: e)
                        }
                    }
                }
            }
        }
        return out
    }
}
