import TensorCore

/// What `MLP.backward` needs: the input x, fc1's output h (before GELU, bias included) and GELU(h).
public struct MLPCache: Sendable {
    public let x: Tensor
    public let hidden: Tensor
    public let activated: Tensor
}

/// The transformer MLP, y = fc2(GELU(fc1(x))) with the erf GELU. Parameters `<name>.fc1.*`,
/// `<name>.fc2.*` (fc1 [hidden, width], fc2 [width, hidden]). fc1's bias add and its gradient are
/// fused with the GELU forward / backward (`biasGELUForward` / `biasGELUBackward`, one pass each).
public struct MLP: Sendable {
    public let fc1: Linear
    public let fc2: Linear

    public init(name: String, width: Int, hidden: Int, layout: inout ParameterLayout) {
        fc1 = Linear(name: "\(name).fc1", inFeatures: width, outFeatures: hidden, layout: &layout)
        fc2 = Linear(name: "\(name).fc2", inFeatures: hidden, outFeatures: width, layout: &layout)
    }

    /// x: [..., width]; returns y of x's shape and the cache.
    public func forward(_ x: Tensor, _ context: LayerContext) -> (Tensor, MLPCache) {
        let hidden = fc1.forward(x, addingBias: false, context)      // [..., hidden], bias added below
        let activated = Tensor(uninitialized: hidden.shape)            // written in full below
        let columns = fc1.outFeatures, rows = hidden.count / columns
        hidden.withUnsafeMutableBufferPointer { hb in
            activated.withUnsafeMutableBufferPointer { ab in
                context.arena.parameter(fc1.bias!).withUnsafeBufferPointer { bb in
                    biasGELUForward(hb, bias: bb, activated: ab, rows: rows, columns: columns, pool: context.pool)
                }
            }
        }
        let y = fc2.forward(activated, context)
        return (y, MLPCache(x: x, hidden: hidden, activated: activated))
    }

    /// **Accumulates** dX += ∂L/∂x (`overwritingDX`: dX = ∂L/∂x, dX may be uninitialised) and the
    /// fc1 / fc2 gradients. dY, dX: like x.
    public func backward(_ cache: MLPCache, dY: Tensor, dX: Tensor, _ context: LayerContext,
                         overwritingDX: Bool = false) {
        let gradient = Tensor(uninitialized: cache.hidden.shape)      // dA, then dH in place
        fc2.backward(x: cache.activated, dY: dY, dX: gradient, context, overwritingDX: true)
        let columns = fc1.outFeatures, rows = cache.hidden.count / columns
        cache.hidden.withUnsafeBufferPointer { hb in
            gradient.withUnsafeMutableBufferPointer { gb in
                context.arena.gradient(fc1.bias!).withUnsafeMutableBufferPointer { dbb in
                    biasGELUBackward(hb, gradient: gb, dBias: dbb, rows: rows, columns: columns, pool: context.pool)
                }
            }
        }
        fc1.backward(x: cache.x, dY: gradient, dX: dX, context, overwritingDX: overwritingDX, includingBias: false)
    }
}
