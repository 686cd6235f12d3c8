import Foundation
import NN
import Testing
import TensorCore

@Suite struct AdamWTests {
    /// The PyTorch AdamW update written out in Double, one element at a time.
    static func referenceSteps(p0: Double, gradients: [Double], lrs: [Double], config: AdamWConfig,
                               decays: Bool) -> Double {
        var p = p0, m = 0.0, v = 0.0
        let b1 = Double(config.beta1), b2 = Double(config.beta2), eps = Double(config.epsilon)
        for (t, (g, lr)) in zip(gradients, lrs).enumerated() {
            let step = Double(t + 1)
            if decays { p *= 1 - lr * Double(config.weightDecay) }
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            let denominator = (v.squareRoot() / (1 - pow(b2, step)).squareRoot()) + eps
            p -= lr / (1 - pow(b1, step)) * m / denominator
        }
        return p
    }

    @Test func matchesTheReferenceOverSeveralSteps() {
        let layout = ParameterArenaTests.smallLayout()
        let arena = ParameterArena(layout: layout, seed: 3)
        let config = AdamWConfig()
        let initial = arena.parameters.withUnsafeBufferPointer { Array($0) }
        let steps = 5
        let lrs = (0..<steps).map { 1e-3 * Double($0 + 1) }
        var history: [[Float]] = []
        for step in 0..<steps {
            let g = randomGradients(layout.totalCount, tag: UInt32(step))
            arena.gradients.withUnsafeMutableBufferPointer { _ = $0.update(from: g) }
            history.append(g)
            adamWStep(arena, config: config, learningRate: Float(lrs[step]), step: step + 1)
        }
        let final = arena.parameters.withUnsafeBufferPointer { Array($0) }
        var worst = 0.0
        for view in layout.views {
            for i in view.range {
                let expected = Self.referenceSteps(p0: Double(initial[i]), gradients: history.map { Double($0[i]) },
                                                   lrs: lrs, config: config, decays: view.decays)
                worst = max(worst, abs(Double(final[i]) - expected))
            }
        }
        #expect(worst < 2e-6, "max |float - double reference| = \(worst)")   // 5 steps of ~1e-3 moves
    }

    @Test func isBitIdenticalForAnyThreadCount() {
        let layout = ParameterArenaTests.smallLayout()
        var results: [[Float]] = []
        for threads in [1, 2, 3] {
            let arena = ParameterArena(layout: layout, seed: 9)
            let pool = ThreadPool(threadCount: threads)
            for step in 1...3 {
                let g = randomGradients(layout.totalCount, tag: UInt32(step))
                arena.gradients.withUnsafeMutableBufferPointer { _ = $0.update(from: g) }
                adamWStep(arena, config: AdamWConfig(), learningRate: 1e-3, step: step, pool: pool)
            }
            results.append(arena.parameters.withUnsafeBufferPointer { Array($0) })
        }
        #expect(results[0].map(\.bitPattern) == results[1].map(\.bitPattern))
        #expect(results[0].map(\.bitPattern) == results[2].map(\.bitPattern))
    }

    @Test func normsAndBiasesAreNotDecayed() {
        let layout = ParameterArenaTests.smallLayout()
        let arena = ParameterArena(layout: layout, seed: 3)
        let before = arena.parameters.withUnsafeBufferPointer { Array($0) }
        adamWStep(arena, config: AdamWConfig(weightDecay: 0.5), learningRate: 0.1, step: 1)   // zero gradients
        let after = arena.parameters.withUnsafeBufferPointer { Array($0) }
        for view in layout.views {
            let changed = view.range.contains { before[$0] != after[$0] }
            #expect(changed == view.decays, "\(view.name)")
        }
    }

    func randomGradients(_ count: Int, tag: UInt32) -> [Float] {
        var stream = CounterRNG(seed: 77).stream(tag)
        return (0..<count).map { _ in stream.nextNormal() * 0.1 }
    }
}

@Suite struct LearningRateScheduleTests {
    @Test func warmupThenCosineToTheMinimum() {
        let schedule = LearningRateSchedule(peak: 1e-3, minimum: 1e-5, warmupSteps: 10, totalSteps: 110)
        #expect(abs(schedule.learningRate(at: 0) - 1e-4) < 1e-15)
        #expect(abs(schedule.learningRate(at: 9) - 1e-3) < 1e-15)
        #expect(abs(schedule.learningRate(at: 10) - 1e-3) < 1e-15)
        #expect(abs(schedule.learningRate(at: 60) - (1e-5 + (1e-3 - 1e-5) * 0.5)) < 1e-12)
        #expect(abs(schedule.learningRate(at: 110) - 1e-5) < 1e-15)
        let rates = (10...110).map(schedule.learningRate(at:))
        #expect(zip(rates, rates.dropFirst()).allSatisfy { $0 >= $1 })
        let fractional = LearningRateSchedule(peak: 1, warmupFraction: 0.05, totalSteps: 200)
        #expect(fractional.warmupSteps == 10)
    }
}
