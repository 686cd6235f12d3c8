import TensorCore

extension Attention {
    // MARK: - Backward

    /// **Accumulates** dX += ∂L/∂x (`overwritingDX`: dX = ∂L/∂x, dX may be uninitialised) and the
    /// qkv / proj parameter gradients. dY, dX: [B, S, D].
    ///
    /// proj backward gives dO; per (b, h), with P the probabilities: dP = dO·Vᵀ, dV = Pᵀ·dO,
    /// dZ = softmax backward of the raw scores Z = Q·Kᵀ (it includes the scale), dQ = dZ·K,
    /// dK = dZᵀ·Q, each written to that head's columns of dqkv; then the qkv backward.
    public func backward(_ cache: AttentionCache, dY: Tensor, dX: Tensor, _ context: LayerContext,
                         overwritingDX: Bool = false) {
        let x = cache.x
        precondition(dY.shape == x.shape && dX.shape == x.shape,
                     "Attention: dY \(dY.shape) and dX \(dX.shape) must match x \(x.shape)")
        let geometry = AttentionGeometry(batch: x.shape[0], sequence: x.shape[1], width: width, heads: heads)
        let dHeads = Tensor(uninitialized: x.shape)
        proj.backward(x: cache.heads, dY: dY, dX: dHeads, context, overwritingDX: true)
        let dqkv = Tensor(uninitialized: cache.qkv.shape)      // each head writes its dQ, dK, dV in full
        let s = geometry.sequence
        // Per-thread scratch for dP and dZ (each task overwrites what it uses).
        let scratch = perThreadScratch(context.pool, floats: 2 * s * s)
        cache.qkv.withUnsafeBufferPointer { qkvBuffer in
            cache.probabilities.withUnsafeBufferPointer { pBuffer in
                dHeads.withUnsafeBufferPointer { dOBuffer in
                    dqkv.withUnsafeMutableBufferPointer { dqkvBuffer in
                        scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                            let forward = AttentionPointers(qkv: UnsafeMutablePointer(mutating: qkvBuffer.baseAddress!),
                                                            p: pBuffer.baseAddress!, o: dOBuffer.baseAddress!)
                            let dqkvBase = dqkvBuffer.baseAddress!, scratchBase = scratchBuffer.baseAddress!
                            runPerHead(geometry, context.pool) { b, h, thread in
                                backwardHead(geometry, forward, dqkv: dqkvBase, b: b, h: h,
                                             scratch: scratchBase + thread * 2 * s * s)
                            }
                        }
                    }
                }
            }
        }
        qkv.backward(x: x, dY: dqkv, dX: dX, context, overwritingDX: overwritingDX)
    }

    /// One (b, h). `forward.o` points at dO [B, S, D]; `scratch` holds 2·S·S floats.
    private func backwardHead(_ g: AttentionGeometry, _ ptr: AttentionPointers, dqkv: UnsafeMutablePointer<Float>,
                              b: Int, h: Int, scratch: UnsafeMutablePointer<Float>) {
        let s = g.sequence, hd = g.headWidth, ld = g.qkvStride
        let q = ptr.qkv + g.qOffset(b, h), k = ptr.qkv + g.kOffset(b, h), v = ptr.qkv + g.vOffset(b, h)
        let p = ptr.p + g.pOffset(b, h), dO = ptr.o + g.oOffset(b, h)
        let dQ = dqkv + g.qOffset(b, h), dK = dqkv + g.kOffset(b, h), dV = dqkv + g.vOffset(b, h)
        let dP = scratch, dZ = scratch + s * s
        // dP = dO·Vᵀ [S×S];  dV = Pᵀ·dO [S×hd]
        headProduct(.nt, m: s, n: s, k: hd, a: dO, lda: g.width, b: v, ldb: ld, c: dP, ldc: s, accumulate: false)
        headProduct(.tn, m: s, n: hd, k: s, a: p, lda: s, b: dO, ldb: g.width, c: dV, ldc: ld, accumulate: false)
        // dZ = scale · P ⊙ (dP − rowsum(dP ⊙ P))
        let dZBuffer = UnsafeMutableBufferPointer(start: dZ, count: s * s)
        dZBuffer.update(repeating: 0)
        softmaxBackward(UnsafeBufferPointer(start: p, count: s * s), dY: UnsafeBufferPointer(start: dP, count: s * s),
                        dX: dZBuffer, rows: s, columns: s, scale: scale)
        // dQ = dZ·K;  dK = dZᵀ·Q
        headProduct(.nn, m: s, n: hd, k: s, a: dZ, lda: s, b: k, ldb: ld, c: dQ, ldc: ld, accumulate: false)
        headProduct(.tn, m: s, n: hd, k: s, a: dZ, lda: s, b: q, ldb: ld, c: dK, ldc: ld, accumulate: false)
    }
}
