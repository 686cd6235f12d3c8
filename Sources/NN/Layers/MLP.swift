import TensorCore

/// What `MLP.backward` needs: the input x, fc1's output h (before GELU) and GELU(h).
public struct MLPCache: Sendable {
    public let x: Tensor
    public let hidden: Tensor
    public let activated: Tensor
}

/// The transformer MLP, y = fc2(GELU(fc1(x))) with the erf GELU. Parameters `<name>.fc1.*`,
/// `<name>.fc2.*` (fc1 [hidden, width], fc2 [width, hidden]).
public struct MLP: Sendable {
    public let fc1: Linear
    public let fc2: Linear

    public init(name: String, width: Int, hidden: Int, layout: inout ParameterLayout) {
        fc1 = Linear(name: "\(name).fc1", inFeatures: width, outFeatures: hidden, layout: &layout)
        fc2 = Linear(name: "\(name).fc2", inFeatures: hidden, outFeatures: width, layout: &layout)
    }

    /// x: [..., width]; returns y of x's shape and the cache.
    public func forward(_ x: Tensor, _ context: LayerContext) -> (Tensor, MLPCache) {
        let hidden = fc1.forward(x, context)
        let activated = Tensor(zeros: hidden.shape)
        hidden.withUnsafeBufferPointer { hb in
            activated.withUnsafeMutableBufferPointer { ab in
                geluForward(hb, into: ab, count: hidden.count, pool: context.pool)
            }
        }
        let y = fc2.forward(activated, context)
        return (y, MLPCache(x: x, hidden: hidden, activated: activated))
    }

    /// **Accumulates** dX += ∂L/∂x and the fc1 / fc2 gradients. dY, dX: like x.
    public func backward(_ cache: MLPCache, dY: Tensor, dX: Tensor, _ context: LayerContext) {
        let dActivated = Tensor(zeros: cache.hidden.shape)
        fc2.backward(x: cache.activated, dY: dY, dX: dActivated, context)
        let dHidden = Tensor(zeros: cache.hidden.shape)
        cache.hidden.withUnsafeBufferPointer { hb in
            dActivated.withUnsafeBufferPointer { gb in
                dHidden.withUnsafeMutableBufferPointer { db in
                    geluBackward(hb, dY: gb, dX: db, count: cache.hidden.count, pool: context.pool)
                }
            }
        }
        fc1.backward(x: cache.x, dY: dHidden, dX: dX, context)
    }
}
