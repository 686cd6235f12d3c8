#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TensorCore

/// AdamW hyper-parameters (METHOD.md §6.1: betas (0.9, 0.95), weight decay 0.05).
public struct AdamWConfig: Sendable, Codable, Equatable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0.05

    public init(beta1: Float = 0.9, beta2: Float = 0.95, epsilon: Float = 1e-8, weightDecay: Float = 0.05) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }
}

/// One AdamW update over the whole arena, in PyTorch's formulation (torch.optim.AdamW):
///
///     p ← p·(1 − lr·wd)                      (decoupled decay; wd = 0 for norms and biases)
///     m ← β1·m + (1 − β1)·g
///     v ← β2·v + (1 − β2)·g²
///     p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
///
/// `step` is 1-based (the t of the bias corrections). Elementwise, so the result does not depend
/// on how the loop is split across threads.
public func adamWStep(_ arena: ParameterArena, config: AdamWConfig, learningRate: Float, step: Int,
                      pool: ThreadPool? = nil) {
    precondition(step >= 1, "adamWStep: step is 1-based, got \(step)")
    let correction1 = 1 - pow(Double(config.beta1), Double(step))
    let correction2 = 1 - pow(Double(config.beta2), Double(step))
    let constants = AdamWConstants(
        beta1: config.beta1, beta2: config.beta2, epsilon: config.epsilon,
        stepSize: Float(Double(learningRate) / correction1),
        inverseRootCorrection2: Float(1 / correction2.squareRoot()))

    let views = arena.layout.views
    arena.parameters.withUnsafeMutableBufferPointer { p in
        arena.gradients.withUnsafeMutableBufferPointer { g in
            arena.firstMoment.withUnsafeMutableBufferPointer { m in
                arena.secondMoment.withUnsafeMutableBufferPointer { v in
                    // One task per parameter tensor: elementwise work, any split gives the same bits.
                    let update = { (index: Int, _: Int) in
                        let view = views[index]
                        let decay = view.decays ? 1 - learningRate * config.weightDecay : 1
                        adamWUpdate(count: view.count, parameters: p.baseAddress! + view.offset,
                                    gradients: g.baseAddress! + view.offset, m: m.baseAddress! + view.offset,
                                    v: v.baseAddress! + view.offset, decay: decay, constants)
                    }
                    if let pool {
                        pool.parallelFor(views.count, update)
                    } else {
                        for index in views.indices { update(index, 0) }
                    }
                }
            }
        }
    }
}

@usableFromInline
struct AdamWConstants {
    let beta1: Float
    let beta2: Float
    let epsilon: Float
    let stepSize: Float
    let inverseRootCorrection2: Float
}

/// The update on one contiguous parameter: p, g, m, v are [count].
@inline(__always)
private func adamWUpdate(count: Int, parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafeMutablePointer<Float>,
                         m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                         decay: Float, _ k: AdamWConstants) {
    typealias V16 = SIMD16<Float>
    let oneMinusBeta1 = 1 - k.beta1, oneMinusBeta2 = 1 - k.beta2
    var i = 0
    while i + 16 <= count {
        let gv = UnsafeRawPointer(g + i).loadUnaligned(as: V16.self)
        var mv = UnsafeRawPointer(m + i).loadUnaligned(as: V16.self)
        var vv = UnsafeRawPointer(v + i).loadUnaligned(as: V16.self)
        var pv = UnsafeRawPointer(p + i).loadUnaligned(as: V16.self)
        pv *= decay
        mv = k.beta1 * mv + oneMinusBeta1 * gv
        vv = k.beta2 * vv + oneMinusBeta2 * (gv * gv)
        let denominator = vv.squareRoot() * k.inverseRootCorrection2 + k.epsilon
        pv -= k.stepSize * (mv / denominator)
        UnsafeMutableRawPointer(m + i).storeBytes(of: mv, as: V16.self)
        UnsafeMutableRawPointer(v + i).storeBytes(of: vv, as: V16.self)
        UnsafeMutableRawPointer(p + i).storeBytes(of: pv, as: V16.self)
        i += 16
    }
    while i < count {
        var pi = p[i] * decay
        let mi = k.beta1 * m[i] + oneMinusBeta1 * g[i]
        let vi = k.beta2 * v[i] + oneMinusBeta2 * (g[i] * g[i])
        pi -= k.stepSize * (mi / (vi.squareRoot() * k.inverseRootCorrection2 + k.epsilon))
        m[i] = mi
        v[i] = vi
        p[i] = pi
        i += 1
    }
}

