import TensorCore

/// A fully connected layer, Y[N, out] = X[N, in]·Wᵀ + b, with W stored as PyTorch stores it,
/// [out, in] (so checkpoints map one to one). Parameters `<name>.weight` (xavier-uniform) and
/// `<name>.bias` (zeros), registered in that order.
public struct Linear: Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: ParameterID
    public let bias: ParameterID?

    public init(name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true, layout: inout ParameterLayout) {
        precondition(inFeatures > 0 && outFeatures > 0, "Linear \(name): sizes must be positive")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = layout.register("\(name).weight", shape: [outFeatures, inFeatures],
                                 initializer: .xavierUniform(fanIn: inFeatures, fanOut: outFeatures))
        self.bias = bias ? layout.register("\(name).bias", shape: [outFeatures], initializer: .constant(0)) : nil
    }

    /// Rows N of an input [..., in], checking its last axis.
    private func rowCount(_ x: Tensor, _ what: String) -> Int {
        precondition(x.rank >= 1 && x.shape.last == inFeatures,
                     "Linear: \(what) has shape \(x.shape), expected [..., \(inFeatures)]")
        return x.count / inFeatures
    }

    // MARK: - Forward

    /// Y = X·Wᵀ + b. x: any shape [..., in]; returns a new tensor [..., out].
    public func forward(_ x: Tensor, _ context: LayerContext) -> Tensor {
        forward(x, addingBias: true, context)
    }

    /// Y = X·Wᵀ, plus b when `addingBias` (false: the caller fuses the bias into its next pass, as
    /// `MLP` does with the GELU). x: any shape [..., in]; returns a new tensor [..., out].
    public func forward(_ x: Tensor, addingBias: Bool, _ context: LayerContext) -> Tensor {
        let rows = rowCount(x, "x")
        let y = Tensor(uninitialized: Array(x.shape.dropLast()) + [outFeatures])   // the GEMM overwrites it
        let w = context.arena.parameter(weight)
        x.withUnsafeBufferPointer { xb in
            w.withUnsafeBufferPointer { wb in
                y.withUnsafeMutableBufferPointer { yb in
                    gemm(.nt, m: rows, n: outFeatures, k: inFeatures, a: xb, lda: inFeatures, b: wb, ldb: inFeatures,
                         c: yb, ldc: outFeatures, accumulate: false, pool: context.pool)
                    if let bias, addingBias {
                        context.arena.parameter(bias).withUnsafeBufferPointer { bb in
                            biasAddForward(yb, bias: bb, rows: rows, columns: outFeatures, pool: context.pool)
                        }
                    }
                }
            }
        }
        return y
    }

    // MARK: - Backward

    /// Gradients of Y = X·Wᵀ + b, all **accumulated**: dX += dY·W (skipped when `dX` is nil),
    /// dW += dYᵀ·X, db += Σ_rows dY. x: the forward input [..., in]; dY [..., out]; dX like x.
    /// `overwritingDX`: dX = dY·W instead (dX may then be uninitialised). `includingBias: false` leaves
    /// db to the caller (who fused it into another pass).
    public func backward(x: Tensor, dY: Tensor, dX: Tensor?, _ context: LayerContext,
                         overwritingDX: Bool = false, includingBias: Bool = true) {
        let rows = rowCount(x, "x")
        precondition(dY.count == rows * outFeatures && dY.shape.last == outFeatures,
                     "Linear: dY has shape \(dY.shape), expected \(Array(x.shape.dropLast()) + [outFeatures])")
        let arena = context.arena, pool = context.pool
        dY.withUnsafeBufferPointer { gb in
            if let dX {
                precondition(dX.count == x.count, "Linear: dX has shape \(dX.shape), expected \(x.shape)")
                arena.parameter(weight).withUnsafeBufferPointer { wb in
                    dX.withUnsafeMutableBufferPointer { db in
                        gemm(.nn, m: rows, n: inFeatures, k: outFeatures, a: gb, lda: outFeatures, b: wb,
                             ldb: inFeatures, c: db, ldc: inFeatures, accumulate: !overwritingDX, pool: pool)
                    }
                }
            }
            x.withUnsafeBufferPointer { xb in
                arena.gradient(weight).withUnsafeMutableBufferPointer { dwb in
                    gemm(.tn, m: outFeatures, n: inFeatures, k: rows, a: gb, lda: outFeatures, b: xb,
                         ldb: inFeatures, c: dwb, ldc: inFeatures, accumulate: true, pool: pool)
                }
            }
            if let bias, includingBias {
                arena.gradient(bias).withUnsafeMutableBufferPointer { dbb in
                    biasAddBackward(dY: gb, dBias: dbb, rows: rows, columns: outFeatures, pool: pool)
                }
            }
        }
    }
}
