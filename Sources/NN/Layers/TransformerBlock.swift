import TensorCore

/// What `TransformerBlock.backward` needs: the block input x, the residual stream after
/// attention x1, and the caches of the two norms, the attention and the MLP.
public struct BlockCache: Sendable {
    public let x: Tensor
    public let norm1: LayerNormCache
    public let attention: AttentionCache
    public let x1: Tensor
    public let norm2: LayerNormCache
    public let mlp: MLPCache
}

/// A pre-norm ViT block: x1 = x + attn(norm1(x)), y = x1 + mlp(norm2(x1)). Parameters in the
/// order norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2 under `<name>.`.
public struct TransformerBlock: Sendable {
    public let norm1: LayerNorm
    public let attention: Attention
    public let norm2: LayerNorm
    public let mlp: MLP

    public init(name: String, width: Int, heads: Int, mlpRatio: Int, eps: Float, layout: inout ParameterLayout) {
        norm1 = LayerNorm(name: "\(name).norm1", width: width, eps: eps, layout: &layout)
        attention = Attention(name: "\(name).attn", width: width, heads: heads, layout: &layout)
        norm2 = LayerNorm(name: "\(name).norm2", width: width, eps: eps, layout: &layout)
        mlp = MLP(name: "\(name).mlp", width: width, hidden: mlpRatio * width, layout: &layout)
    }

    /// x: [B, S, D]; keyMask: [B·S] or nil (see `Attention.forward`). Returns y [B, S, D].
    public func forward(_ x: Tensor, keyMask: [Bool]?, _ context: LayerContext) -> (Tensor, BlockCache) {
        let (n1, norm1Cache) = norm1.forward(x, context)
        let (x1, attentionCache) = attention.forward(n1, keyMask: keyMask, context)
        addInPlace(x, into: x1, context)                    // x1 = x + attn(norm1(x))
        let (n2, norm2Cache) = norm2.forward(x1, context)
        let (y, mlpCache) = mlp.forward(n2, context)
        addInPlace(x1, into: y, context)                    // y = x1 + mlp(norm2(x1))
        return (y, BlockCache(x: x, norm1: norm1Cache, attention: attentionCache, x1: x1, norm2: norm2Cache,
                              mlp: mlpCache))
    }

    /// Returns dX = ∂L/∂x (a new tensor) and **accumulates** every parameter gradient. dY: [B, S, D].
    public func backward(_ cache: BlockCache, dY: Tensor, _ context: LayerContext) -> Tensor {
        precondition(dY.shape == cache.x.shape, "TransformerBlock: dY \(dY.shape) must match x \(cache.x.shape)")
        let dN2 = Tensor(uninitialized: dY.shape)
        mlp.backward(cache.mlp, dY: dY, dX: dN2, context, overwritingDX: true)
        let dX1 = dY.copy()                                 // residual path
        norm2.backward(x: cache.x1, cache: cache.norm2, dY: dN2, dX: dX1, context)
        let dN1 = Tensor(uninitialized: dY.shape)
        attention.backward(cache.attention, dY: dX1, dX: dN1, context, overwritingDX: true)
        let dX = dX1.copy()                                 // residual path
        norm1.backward(x: cache.x, cache: cache.norm1, dY: dN1, dX: dX, context)
        return dX
    }

    /// y += x elementwise.
    private func addInPlace(_ x: Tensor, into y: Tensor, _ context: LayerContext) {
        x.withUnsafeBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in accumulate(xb, into: yb, count: x.count, pool: context.pool) }
        }
    }
}
