import Foundation

/// The linear probe of METHOD.md §10 at CPU scale: features standardised with the training tiles'
/// per-dimension mean and std (BatchNorm1d without affine, in eval mode), then a softmax classifier
/// (weights W [classes, D], bias b) fitted by full-batch Adam on the mean cross-entropy plus
/// λ/2·‖W‖². The problem is convex and starts from zero, so the fit is deterministic.
public struct LinearProbe: Sendable {
    public let mean: [Double]
    public let std: [Double]
    public let weights: [[Double]]
    public let bias: [Double]
    public let regularization: Double

    /// Adam settings of the fit (enough iterations to converge on a few thousand tiles of D ≤ 1024).
    public struct Solver: Sendable {
        public var iterations = 400
        public var learningRate = 0.05
        public init() {}
    }

    public init(features: [[Double]], labels: [Int], classes: Int, regularization: Double, solver: Solver = Solver()) {
        precondition(!features.isEmpty && features.count == labels.count, "LinearProbe: \(features.count) rows, "
                     + "\(labels.count) labels")
        let d = features[0].count, n = Double(features.count)
        var mean = [Double](repeating: 0, count: d), variance = [Double](repeating: 0, count: d)
        for row in features { for j in 0..<d { mean[j] += row[j] / n } }
        for row in features { for j in 0..<d { variance[j] += (row[j] - mean[j]) * (row[j] - mean[j]) / n } }
        let std = variance.map { ($0 + 1e-5).squareRoot() }
        let x = features.map { row in (0..<d).map { (row[$0] - mean[$0]) / std[$0] } }

        // Row-major flat storage: x [N, D], w [classes, D]; one iteration = logits, softmax, Pᵀ·X.
        let flat = x.flatMap { $0 }
        var w = [Double](repeating: 0, count: classes * d), b = [Double](repeating: 0, count: classes)
        var adam = AdamState(count: classes * (d + 1))
        var gradient = [Double](repeating: 0, count: classes * (d + 1)), p = [Double](repeating: 0, count: classes)
        for step in 1...solver.iterations {
            for i in gradient.indices { gradient[i] = 0 }
            flat.withUnsafeBufferPointer { xs in
                w.withUnsafeBufferPointer { ws in
                    gradient.withUnsafeMutableBufferPointer { g in
                        for (row, label) in labels.enumerated() {
                            let features = UnsafeBufferPointer(rebasing: xs[(row * d)..<((row + 1) * d)])
                            for k in 0..<classes {
                                var z = b[k]
                                for j in 0..<d { z += ws[k * d + j] * features[j] }
                                p[k] = z
                            }
                            Self.softmaxInPlace(&p)
                            p[label] -= 1                            // d(cross-entropy)/d(logits)
                            for k in 0..<classes {
                                let scale = p[k] / n
                                for j in 0..<d { g[k * d + j] += scale * features[j] }
                                g[classes * d + k] += scale
                            }
                        }
                    }
                }
            }
            for i in 0..<(classes * d) { gradient[i] += regularization * w[i] }
            adam.step(step, learningRate: solver.learningRate, gradient: gradient) { index, update in
                if index < classes * d { w[index] -= update } else { b[index - classes * d] -= update }
            }
        }
        self.mean = mean
        self.std = std
        weights = (0..<classes).map { Array(w[($0 * d)..<(($0 + 1) * d)]) }
        bias = b
        self.regularization = regularization
    }

    /// The most probable class of each row.
    public func predict(_ features: [[Double]]) -> [Int] {
        features.map { row in
            let x = row.indices.map { (row[$0] - mean[$0]) / std[$0] }
            let scores = Self.logits(x, weights, bias)
            return scores.indices.max { scores[$0] < scores[$1] }!
        }
    }

    /// λ chosen by k-fold cross-validation on the training rows (accuracy, ties: the larger λ), then
    /// the probe refitted on all of them.
    public static func crossValidated(features: [[Double]], labels: [Int], classes: Int,
                                      candidates: [Double] = [1e-4, 1e-3, 1e-2, 1e-1, 1], folds: Int = 4,
                                      solver: Solver = Solver()) -> LinearProbe {
        let foldCount = max(2, min(folds, features.count))
        var best = (lambda: candidates[0], accuracy: -1.0)
        for lambda in candidates {
            var correct = 0
            for fold in 0..<foldCount {
                let train = features.indices.filter { $0 % foldCount != fold }
                let test = features.indices.filter { $0 % foldCount == fold }
                guard !train.isEmpty, !test.isEmpty else { continue }
                let probe = LinearProbe(features: train.map { features[$0] }, labels: train.map { labels[$0] },
                                        classes: classes, regularization: lambda, solver: solver)
                let predicted = probe.predict(test.map { features[$0] })
                correct += zip(predicted, test.map { labels[$0] }).filter { $0 == $1 }.count
            }
            let accuracy = Double(correct) / Double(features.count)
            if accuracy >= best.accuracy { best = (lambda, accuracy) }
        }
        return LinearProbe(features: features, labels: labels, classes: classes, regularization: best.lambda,
                           solver: solver)
    }

    static func logits(_ x: [Double], _ w: [[Double]], _ b: [Double]) -> [Double] {
        w.indices.map { k in zip(w[k], x).reduce(b[k]) { $0 + $1.0 * $1.1 } }
    }

    static func softmaxInPlace(_ z: inout [Double]) {
        let top = z.max()!
        var sum = 0.0
        for k in z.indices { z[k] = Foundation.exp(z[k] - top); sum += z[k] }
        for k in z.indices { z[k] /= sum }
    }
}

/// Adam moments of a flat parameter vector (the probe's weights, then its biases).
struct AdamState {
    var m: [Double], v: [Double]
    let beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8

    init(count: Int) {
        m = [Double](repeating: 0, count: count)
        v = m
    }

    /// Calls `apply(index, update)` with the update to subtract from each parameter.
    mutating func step(_ t: Int, learningRate: Double, gradient: [Double], apply: (Int, Double) -> Void) {
        let c1 = 1 - Foundation.pow(beta1, Double(t)), c2 = 1 - Foundation.pow(beta2, Double(t))
        for i in gradient.indices {
            m[i] = beta1 * m[i] + (1 - beta1) * gradient[i]
            v[i] = beta2 * v[i] + (1 - beta2) * gradient[i] * gradient[i]
            apply(i, learningRate * (m[i] / c1) / ((v[i] / c2).squareRoot() + epsilon))
        }
    }
}
