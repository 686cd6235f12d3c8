import NN
import TensorCore

extension NeighborMAEModel {
    /// Back-propagates `scale · loss` (the weighted loss, or the plain one for the ablation) and
    /// **accumulates** every parameter gradient into the arena. `scale` lets a caller that splits a
    /// global batch into shards normalise by the global masked-pixel count: pass N_shard / N_global.
    public func backward(_ forward: ModelForward, objective: LossObjective = .weighted, scale: Double = 1,
                         _ context: LayerContext) {
        let c = config, b = forward.batch.batchSize, k = c.imagesPerSample, l = c.patchesPerImage
        let e = c.decoderWidth, s = c.encoderSequenceLength, nMax = c.maxVisiblePatches
        let arena = context.arena, pool = context.pool

        // Loss → decoder_pred → decoder_norm.
        let dPred = Tensor(zeros: forward.pred.shape)
        neighborLossBackward(pred: forward.pred, output: forward.loss, dPred: dPred, objective: objective,
                             scale: scale, pool: pool)
        let dPredPatches = patchify(dPred, patchSize: c.patchSize, pool: pool).reshaped([b * k * l, c.patchDimension])
        let dNormOut = Tensor(zeros: forward.decoderNormOut.shape)
        decoderPred.backward(x: forward.decoderNormOut, dY: dPredPatches, dX: dNormOut, context)
        let dRows = Tensor(zeros: forward.decoderRows.shape)
        decoderNorm.backward(x: forward.decoderRows, cache: forward.decoderNormCache, dY: dNormOut, dX: dRows, context)

        // Decoder blocks (the cls row gets no gradient from the prediction).
        var dTokens = prependRow(Tensor(zeros: [e]), to: dRows, samples: b, rowsPerSample: k * l)
        for (block, cache) in zip(decoderBlocks, forward.decoderCaches).reversed() {
            dTokens = block.backward(cache, dY: dTokens, context)
        }

        // Decoder input = tokens + PE: route to the slot embedding, the mask token and the latents.
        let dLatent = Tensor(zeros: [b * s, e])
        scatterDecoderGradient(dTokens, mask: forward.batch.mask, dLatent: dLatent,
                               dMaskToken: arena.gradient(maskToken), dSlot: arena.gradient(decoderImageEmbed))

        // decoder_embed → final norm → encoder blocks (with the same key mask).
        let dEncoderOut = Tensor(zeros: forward.encoderOut.shape)
        decoderEmbed.backward(x: forward.encoderOut, dY: dLatent, dX: dEncoderOut, context)
        var dX = Tensor(zeros: forward.encoderBlocksOut.shape)
        norm.backward(x: forward.encoderBlocksOut, cache: forward.normCache, dY: dEncoderOut, dX: dX, context)
        for (block, cache) in zip(blocks, forward.encoderCaches).reversed() {
            dX = block.backward(cache, dY: dX, context)
        }

        // Encoder input = [cls; patch_embed(kept) + PE + slot]: cls token, slot embedding, patch_embed.
        let dEmbedded = dropFirstRow(dX, samples: b, rowsPerSample: k * nMax)             // [B·K·n_max, D]
        let width = c.encoderWidth
        dX.withUnsafeBufferPointer { d in
            arena.gradient(clsToken).withUnsafeMutableBufferPointer { dCls in
                for sample in 0..<b { addRow(d, from: sample * s, into: dCls, at: 0, width: width) }
            }
        }
        dEmbedded.withUnsafeBufferPointer { d in
            arena.gradient(imageEmbed).withUnsafeMutableBufferPointer { dSlot in
                for sample in 0..<b {
                    for image in 0..<k {
                        for rank in 0..<nMax {
                            addRow(d, from: (sample * k + image) * nMax + rank, into: dSlot, at: image, width: width)
                        }
                    }
                }
            }
        }
        patchEmbed.backward(x: forward.keptPatches, dY: dEmbedded, dX: nil, context)
    }

    /// Splits the decoder-input gradient [B, Q, E]: row 0 → the cls latent; slot (k, l) → the slot
    /// embedding k, and to its encoder latent if visible (rank r < n: row 1 + k·n_max + r) or else to
    /// the mask token. Sums run in a fixed order (sample, image, patch), so results do not depend on threads.
    func scatterDecoderGradient(_ dTokens: Tensor, mask: MaskPlan, dLatent: Tensor, dMaskToken: Tensor, dSlot: Tensor) {
        let c = config, b = mask.batchSize, k = c.imagesPerSample, l = c.patchesPerImage, e = c.decoderWidth
        let nMax = c.maxVisiblePatches, s = c.encoderSequenceLength, q = c.decoderSequenceLength
        let restore = mask.restore, counts = mask.visibleCounts
        dTokens.withUnsafeBufferPointer { d in
            withMutableBuffers([dLatent, dMaskToken, dSlot]) { out in
                let (latent, token, slot) = (out[0], out[1], out[2])
                for sample in 0..<b {
                    addRow(d, from: sample * q, into: latent, at: sample * s, width: e)
                    for image in 0..<k {
                        let n = sample * k + image
                        for patch in 0..<l {
                            let row = sample * q + 1 + image * l + patch
                            addRow(d, from: row, into: slot, at: image, width: e)
                            let rank = Int(restore[n * l + patch])
                            if rank < counts[n] {
                                addRow(d, from: row, into: latent, at: sample * s + 1 + image * nMax + rank, width: e)
                            } else {
                                addRow(d, from: row, into: token, at: 0, width: e)
                            }
                        }
                    }
                }
            }
        }
    }
}
