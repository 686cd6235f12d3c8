import NeighborMAE

/// Analytic GEMM FLOPs of one training step (2·M·N·K per product), the count PyTorch's
/// FlopCounterMode makes (matmuls and attention products only; elementwise work is not counted).
///
/// Forward: patch_embed [B·K·n_max, P]→D; per encoder block qkv, proj, fc1, fc2 on B·S rows and per
/// (sample, head) Q·Kᵀ [S, S, D/H] and A·V [S, D/H, S]; decoder_embed on B·S rows; per decoder block the
/// same on B·Q rows of width E; decoder_pred [B·K·L, E]→P. Backward: twice the forward (dX and dW of
/// every linear; dQ, dK from dS and dA, dV from dO for attention) except patch_embed, which has no dX.
struct StepFLOPs {
    /// FMA peak of one Zen 4 core (compute.md §1): 32 FLOP/cycle at ~3.67 GHz.
    static let corePeakGFLOPs = 117.4

    let forward: Double
    let backward: Double
    /// The attention products Q·Kᵀ and A·V alone, forward + backward (part of `total`).
    let attention: Double
    var total: Double { forward + backward }

    init(config c: ModelConfig, pairs b: Int) {
        let k = c.imagesPerSample, d = c.encoderWidth, e = c.decoderWidth
        let s = c.encoderSequenceLength, q = c.decoderSequenceLength
        let patchEmbed = Self.gemm(b * k * c.maxVisiblePatches, d, c.patchDimension)
        let encoder = Double(c.encoderDepth) * Self.block(rows: b * s, sequence: s, samples: b,
                                                          width: d, ratio: c.mlpRatio)
        let decoderEmbed = Self.gemm(b * s, e, d)
        let decoder = Double(c.decoderDepth) * Self.block(rows: b * q, sequence: q, samples: b,
                                                          width: e, ratio: c.mlpRatio)
        let decoderPred = Self.gemm(b * k * c.patchesPerImage, c.patchDimension, e)
        forward = patchEmbed + encoder + decoderEmbed + decoder + decoderPred
        backward = 2 * (forward - patchEmbed) + patchEmbed
        attention = 3 * (Double(c.encoderDepth) * Self.attentionProducts(sequence: s, samples: b, width: d)
                         + Double(c.decoderDepth) * Self.attentionProducts(sequence: q, samples: b, width: e))
    }

    /// 2·M·N·K.
    static func gemm(_ m: Int, _ n: Int, _ k: Int) -> Double { 2 * Double(m) * Double(n) * Double(k) }

    /// Forward FLOPs of one pre-norm block: the four linears plus the attention products (any head count:
    /// H heads of width W/H do S·S·W multiply-adds per product in total).
    static func block(rows: Int, sequence: Int, samples: Int, width w: Int, ratio: Int) -> Double {
        linears(rows: rows, width: w, ratio: ratio) + attentionProducts(sequence: sequence, samples: samples, width: w)
    }

    static func linears(rows: Int, width w: Int, ratio: Int) -> Double {
        gemm(rows, 3 * w, w) + gemm(rows, w, w) + 2 * gemm(rows, ratio * w, w)
    }

    static func attentionProducts(sequence: Int, samples: Int, width w: Int) -> Double {
        2 * Double(samples) * gemm(sequence, sequence, w)
    }
}
