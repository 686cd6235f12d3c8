import NN
import Testing
import TensorCore

// MARK: - Data

/// Adds uniform noise in [-scale, scale) to every parameter, so biases and norm parameters are not
/// at their special initial values (0 and 1) during gradient checks.
func perturbParameters(_ arena: ParameterArena, tag: UInt32, scale: Float = 0.2) {
    var stream = CounterRNG(seed: 0xBEEF).stream(tag)
    arena.parameters.withUnsafeMutableBufferPointer { values in
        for view in arena.layout.views {
            for i in view.range { values[i] += (stream.nextUniform() * 2 - 1) * scale }
        }
    }
}

/// L = Σ R ⊙ Y, summed in Double (the scalar loss of the gradient checks; ∂L/∂Y = R).
func weightedSum(_ y: Tensor, _ r: Tensor) -> Double {
    precondition(y.count == r.count, "weightedSum: \(y.shape) vs \(r.shape)")
    let ys = y.scalars, rs = r.scalars
    var sum = 0.0
    for i in ys.indices { sum += Double(ys[i]) * Double(rs[i]) }
    return sum
}

/// Every gradient in the arena, in layout order.
func allGradients(_ arena: ParameterArena) -> [Float] {
    arena.gradients.withUnsafeBufferPointer { Array($0) }
}

// MARK: - Comparisons

// MARK: - Finite differences

/// One checked entry: element `index` of `tensor` (a parameter view or an input) and the
/// analytic ∂L/∂entry computed by the layer's backward.
struct GradientProbe {
    let label: String
    let tensor: Tensor
    let index: Int
    let analytic: Float
}

/// `count` distinct indices below `n` (all of them when n ≤ count), from stream `tag`.
func probeIndices(_ n: Int, count: Int, tag: UInt32) -> [Int] {
    guard n > count else { return Array(0..<n) }
    var stream = CounterRNG(seed: 0xF1D0).stream(tag)
    var chosen: [Int] = []
    while chosen.count < count {
        let i = stream.nextInt(below: n)
        if !chosen.contains(i) { chosen.append(i) }
    }
    return chosen
}

/// Probes on `perTensor` entries of every parameter of the arena (each parameter represented).
func parameterProbes(_ arena: ParameterArena, perTensor: Int, tag: UInt32) -> [GradientProbe] {
    arena.layout.views.enumerated().flatMap { number, view -> [GradientProbe] in
        let id = arena.layout.id(named: view.name)!
        let value = arena.parameter(id), gradient = arena.gradient(id).scalars
        return probeIndices(view.count, count: perTensor, tag: tag &+ UInt32(number)).map {
            GradientProbe(label: "\(view.name)[\($0)]", tensor: value, index: $0, analytic: gradient[$0])
        }
    }
}

/// Probes on `count` entries of an input tensor whose analytic gradient is `gradient`.
func inputProbes(_ label: String, _ input: Tensor, gradient: Tensor, count: Int, tag: UInt32) -> [GradientProbe] {
    let values = gradient.scalars
    return probeIndices(input.count, count: count, tag: tag).map {
        GradientProbe(label: "\(label)[\($0)]", tensor: input, index: $0, analytic: values[$0])
    }
}

/// Central differences (L(v + h) − L(v − h)) / (2h) for every probe, compared with the analytic
/// gradient at |fd − analytic| ≤ atol + rtol·|analytic|. `loss` reruns the forward.
///
/// Tolerance budget for float32 forwards with h = 1e-2 and O(1) activations: truncation error
/// h²/6·|L‴| ≈ 2e-5·|L‴| for the smooth functions here; rounding noise in L is about √N·1e-7 ≈ 2e-6
/// for N ≤ 500 outputs, i.e. ≈ 1e-4 after dividing by 2h. 5e-4 + 5e-3·|analytic| sits several
/// times above both (the worst probe of these tests used under a quarter of it when written),
/// while a wrong term (a missing scale, a dropped path) is off by O(|analytic|).
func checkGradients(_ probes: [GradientProbe], step h: Float = 1e-2, atol: Double = 5e-4, rtol: Double = 5e-3,
                    sourceLocation: SourceLocation = #_sourceLocation, loss: () -> Double) {
    var failures: [String] = []
    for probe in probes {
        let original = probe.tensor.scalars[probe.index]
        let plus = original + h, minus = original - h
        set(probe.tensor, probe.index, plus)
        let lossPlus = loss()
        set(probe.tensor, probe.index, minus)
        let lossMinus = loss()
        set(probe.tensor, probe.index, original)
        let fd = (lossPlus - lossMinus) / (Double(plus) - Double(minus))
        let analytic = Double(probe.analytic)
        if !(abs(fd - analytic) <= atol + rtol * abs(analytic)) {
            failures.append("\(probe.label): fd \(fd) vs analytic \(analytic)")
        }
    }
    if !failures.isEmpty {
        Issue.record(Comment(rawValue: "\(failures.count) of \(probes.count) gradient probes differ: "
                                + failures.prefix(6).joined(separator: "; ")), sourceLocation: sourceLocation)
    }
    #expect(probes.count > 0, sourceLocation: sourceLocation)
}

private func set(_ tensor: Tensor, _ index: Int, _ value: Float) {
    tensor.withUnsafeMutableBufferPointer { $0[index] = value }
}
