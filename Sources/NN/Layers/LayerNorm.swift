import TensorCore

/// Per-row statistics saved by `LayerNorm.forward` for the backward: mean [N] and rstd [N].
public struct LayerNormCache: Sendable {
    public let mean: Tensor
    public let rstd: Tensor
}

/// LayerNorm over the last axis (PyTorch semantics), Y = (X − mean)·rstd·γ + β. Parameters
/// `<name>.weight` (γ, ones) and `<name>.bias` (β, zeros), registered in that order.
public struct LayerNorm: Sendable {
    public let width: Int
    public let eps: Float
    public let weight: ParameterID
    public let bias: ParameterID

    public init(name: String, width: Int, eps: Float, layout: inout ParameterLayout) {
        precondition(width > 0, "LayerNorm \(name): width must be positive")
        self.width = width
        self.eps = eps
        weight = layout.register("\(name).weight", shape: [width], initializer: .constant(1))
        bias = layout.register("\(name).bias", shape: [width], initializer: .constant(0))
    }

    private func rowCount(_ x: Tensor) -> Int {
        precondition(x.rank >= 1 && x.shape.last == width,
                     "LayerNorm: input has shape \(x.shape), expected [..., \(width)]")
        return x.count / width
    }

    // MARK: - Forward

    /// x: [..., width]; returns a new tensor of x's shape and the row statistics.
    public func forward(_ x: Tensor, _ context: LayerContext) -> (Tensor, LayerNormCache) {
        let rows = rowCount(x)
        let y = Tensor(uninitialized: x.shape)                 // every output is written below
        let cache = LayerNormCache(mean: Tensor(uninitialized: [rows]), rstd: Tensor(uninitialized: [rows]))
        let arena = context.arena
        x.withUnsafeBufferPointer { xb in
            arena.parameter(weight).withUnsafeBufferPointer { gb in
                arena.parameter(bias).withUnsafeBufferPointer { bb in
                    y.withUnsafeMutableBufferPointer { yb in
                        cache.mean.withUnsafeMutableBufferPointer { mb in
                            cache.rstd.withUnsafeMutableBufferPointer { rb in
                                layerNormForward(xb, gamma: gb, beta: bb, into: yb, mean: mb, rstd: rb,
                                                 rows: rows, width: width, eps: eps, pool: context.pool)
                            }
                        }
                    }
                }
            }
        }
        return (y, cache)
    }

    // MARK: - Backward

    /// **Accumulates** dX += ∂L/∂x and the γ, β gradients. x: the forward input; dY and dX like x.
    public func backward(x: Tensor, cache: LayerNormCache, dY: Tensor, dX: Tensor, _ context: LayerContext) {
        let rows = rowCount(x)
        precondition(dY.count == x.count && dX.count == x.count,
                     "LayerNorm: dY \(dY.shape) and dX \(dX.shape) must match x \(x.shape)")
        let arena = context.arena
        x.withUnsafeBufferPointer { xb in
            dY.withUnsafeBufferPointer { gb in
                arena.parameter(weight).withUnsafeBufferPointer { wb in
                    cache.mean.withUnsafeBufferPointer { mb in
                        cache.rstd.withUnsafeBufferPointer { rb in
                            dX.withUnsafeMutableBufferPointer { db in
                                arena.gradient(weight).withUnsafeMutableBufferPointer { dwb in
                                    arena.gradient(bias).withUnsafeMutableBufferPointer { dbb in
                                        layerNormBackward(dY: gb, x: xb, gamma: wb, mean: mb, rstd: rb, dX: db,
                                                          dGamma: dwb, dBeta: dbb, rows: rows, width: width,
                                                          pool: context.pool)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
