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
        let head = geometry.head, s = geometry.sequence
        let scratch = PerThreadScratch(context.pool, floats: head.scratchCount)
        cache.qkv.withUnsafeBufferPointer { qkvBuffer in
            cache.probabilities.withUnsafeBufferPointer { pBuffer in
                dHeads.withUnsafeBufferPointer { dOBuffer in
                    dqkv.withUnsafeMutableBufferPointer { dqkvBuffer in
                        scratch.tensor.withUnsafeMutableBufferPointer { scratchBuffer in
                            let qkvBase = qkvBuffer.baseAddress!, dqkvBase = dqkvBuffer.baseAddress!
                            let qkvCount = head.viewCount(head.qkvStride)
                            runPerHead(geometry, context.pool) { b, h, thread in
                                func view(_ offset: Int) -> UnsafeBufferPointer<Float> {
                                    UnsafeBufferPointer(start: qkvBase + offset, count: qkvCount)
                                }
                                func gradient(_ offset: Int) -> UnsafeMutableBufferPointer<Float> {
                                    UnsafeMutableBufferPointer(start: dqkvBase + offset, count: qkvCount)
                                }
                                attentionHeadBackward(
                                    q: view(geometry.qOffset(b, h)), k: view(geometry.kOffset(b, h)),
                                    v: view(geometry.vOffset(b, h)),
                                    probabilities: UnsafeBufferPointer(rebasing: pBuffer[geometry.pOffset(b, h)...]
                                        .prefix(s * s)),
                                    dO: UnsafeBufferPointer(rebasing: dOBuffer[geometry.oOffset(b, h)...]
                                        .prefix(head.viewCount(head.outputStride))),
                                    dQ: gradient(geometry.qOffset(b, h)), dK: gradient(geometry.kOffset(b, h)),
                                    dV: gradient(geometry.vOffset(b, h)), geometry: head, scale: scale,
                                    scratch: scratch.slice(scratchBuffer, thread))
                            }
                        }
                    }
                }
            }
        }
        qkv.backward(x: x, dY: dqkv, dX: dX, context, overwritingDX: overwritingDX)
    }
}
