import Evaluation
import Foundation
import TensorCore
import Testing

/// Gaussian clusters in D dimensions: class c has mean 3·e_c (+ noise of std 1), so a linear rule separates
/// them almost perfectly and the nearest neighbours of a point are mostly of its class.
func gaussianClusters(perClass: Int, classes: Int, dimensions: Int, seed: UInt64) -> ([[Double]], [Int]) {
    var stream = CounterRNG(seed: seed).stream(9)
    var rows: [[Double]] = [], labels: [Int] = []
    for c in 0..<classes {
        for _ in 0..<perClass {
            rows.append((0..<dimensions).map { j in (j == c ? 3 : 0) + Double(stream.nextNormal()) })
            labels.append(c)
        }
    }
    return (rows, labels)
}

@Suite struct LinearProbeTests {
    @Test func separatesGaussianClustersOnHeldOutPoints() {
        let (train, trainLabels) = gaussianClusters(perClass: 60, classes: 3, dimensions: 8, seed: 1)
        let (test, testLabels) = gaussianClusters(perClass: 40, classes: 3, dimensions: 8, seed: 2)
        let probe = LinearProbe.crossValidated(features: train, labels: trainLabels, classes: 3)
        let matrix = ConfusionMatrix(truth: testLabels, predicted: probe.predict(test), classes: 3)
        // Bayes error of these clusters is ≈ 2 %; 0.9 leaves room for estimation noise but not for a broken fit.
        #expect(matrix.accuracy >= 0.9, "held-out accuracy \(matrix.accuracy)")
    }

    /// The fit minimises mean cross-entropy + λ/2·‖W‖² (convex): moving any weight or bias a little either
    /// way must not lower the objective.
    @Test func theFitIsAMinimumOfTheRegularisedObjective() {
        let (rows, labels) = gaussianClusters(perClass: 30, classes: 3, dimensions: 4, seed: 5)
        let lambda = 0.01
        var solver = LinearProbe.Solver()
        solver.iterations = 3000
        solver.learningRate = 0.02
        let probe = LinearProbe(features: rows, labels: labels, classes: 3, regularization: lambda, solver: solver)
        func objective(_ w: [[Double]], _ b: [Double]) -> Double {
            var loss = 0.0
            for (row, label) in zip(rows, labels) {
                let x = row.indices.map { (row[$0] - probe.mean[$0]) / probe.std[$0] }
                let z = w.indices.map { k in zip(w[k], x).reduce(b[k]) { $0 + $1.0 * $1.1 } }
                let top = z.max()!
                loss += top + log(z.reduce(0) { $0 + exp($1 - top) }) - z[label]
            }
            return loss / Double(rows.count) + lambda / 2 * w.joined().reduce(0) { $0 + $1 * $1 }
        }
        let best = objective(probe.weights, probe.bias)
        for k in 0..<3 {
            for j in 0...4 {
                for delta in [-1e-3, 1e-3] {
                    var w = probe.weights, b = probe.bias
                    if j < 4 { w[k][j] += delta } else { b[k] += delta }
                    #expect(objective(w, b) >= best - 1e-9, "moving (\(k), \(j)) by \(delta) lowers the objective")
                }
            }
        }
    }
}

@Suite struct NearestNeighboursTests {
    @Test func oneNeighbourIsTheMostSimilarDirection() {
        let rows: [[Double]] = [[1, 0], [0, 1], [-1, 0]]
        let knn = NearestNeighbours(features: rows, labels: [0, 1, 2], classes: 3, k: 1)
        // Cosine similarity ignores length: [10, 1] points along class 0, [-0.1, 0.01] along class 2.
        #expect(knn.predict([[10, 1], [0.2, 5], [-0.1, 0.01]]) == [0, 1, 2])
    }

    @Test func votesAreWeightedBySimilarity() {
        // Two far class-1 rows against one near class-0 row: with τ small the near one wins, with a huge τ
        // the vote is a head count and class 1 wins.
        let rows: [[Double]] = [[1, 0.05], [0.2, 1], [0.25, 1]]
        let query: [[Double]] = [[1, 0.1]]
        #expect(NearestNeighbours(features: rows, labels: [0, 1, 1], classes: 2, k: 3, temperature: 0.07)
            .predict(query) == [0])
        #expect(NearestNeighbours(features: rows, labels: [0, 1, 1], classes: 2, k: 3, temperature: 1e6)
            .predict(query) == [1])
    }

    @Test func clustersAreClassifiedByTheirNeighbours() {
        let (train, trainLabels) = gaussianClusters(perClass: 50, classes: 4, dimensions: 6, seed: 3)
        let (test, testLabels) = gaussianClusters(perClass: 25, classes: 4, dimensions: 6, seed: 4)
        let knn = NearestNeighbours(features: train, labels: trainLabels, classes: 4)
        let accuracy = ConfusionMatrix(truth: testLabels, predicted: knn.predict(test), classes: 4).accuracy
        #expect(accuracy >= 0.85, "kNN accuracy \(accuracy)")
    }
}

@Suite struct ConfusionMatrixTests {
    @Test func countsAndSummaries() {
        let matrix = ConfusionMatrix(truth: [0, 0, 0, 0, 1, 1, 2], predicted: [0, 0, 0, 1, 1, 0, 2], classes: 3)
        #expect(matrix.counts == [[3, 1, 0], [1, 1, 0], [0, 0, 1]])
        #expect(matrix.total == 7 && matrix.correct == 5)
        #expect(abs(matrix.accuracy - 5.0 / 7.0) < 1e-12)
        #expect(abs(matrix.balancedAccuracy - (0.75 + 0.5 + 1) / 3) < 1e-12)
        let table = matrix.table(classNames: ["water", "land", "city"]).split(separator: "\n")
        #expect(table.count == 4)
        #expect(table[1].hasSuffix("3       1       0") && table[1].contains("water"))
    }
}

@Suite struct ProbeSplitTests {
    @Test func stratifiedDisjointCompleteAndSeeded() {
        let labels = Array(repeating: 0, count: 50) + Array(repeating: 1, count: 20) + [2, 2] + [3]
        let split = ProbeSplit(labels: labels, heldOutFraction: 0.3, seed: 7)
        #expect(Set(split.train).isDisjoint(with: split.heldOut))
        #expect((split.train + split.heldOut).sorted() == Array(labels.indices))
        let held = split.heldOut.map { labels[$0] }
        #expect(held.filter { $0 == 0 }.count == 15 && held.filter { $0 == 1 }.count == 6)
        #expect(held.filter { $0 == 2 }.count == 1 && !held.contains(3))   // a lone tile always trains
        #expect(ProbeSplit(labels: labels, heldOutFraction: 0.3, seed: 7) == split)
        #expect(ProbeSplit(labels: labels, heldOutFraction: 0.3, seed: 8) != split)
    }
}
