import Foundation

/// How a probe is run on one set of features.
public struct ProbeOptions: Sendable {
    /// Share of every class held out for testing.
    public var heldOutFraction = 0.3
    /// Independent stratified splits (seeds seed, seed + 1, …); scores are reported as mean ± std over them
    /// and the confusion matrices are summed, so a few hundred tiles still give a stable number.
    public var repeats = 5
    public var seed: UInt64 = 0
    public var neighbours = 20
    public var temperature = 0.07

    public init() {}
}

/// Held-out scores of one feature set over all splits.
public struct ProbeScores: Sendable {
    /// Accuracy of each split.
    public var linear: [Double] = []
    public var nearestNeighbours: [Double] = []
    /// Predicting the training split's most frequent class (the score that means "learnt nothing").
    public var majorityClass: [Double] = []
    /// Summed over the splits' held-out tiles.
    public var linearMatrix: ConfusionMatrix
    public var nearestNeighbourMatrix: ConfusionMatrix
    /// λ the cross-validation chose on each split.
    public var regularization: [Double] = []
    public var trainTiles = 0
    public var heldOutTiles = 0

    init(classes: Int) {
        linearMatrix = ConfusionMatrix(classes: classes)
        nearestNeighbourMatrix = ConfusionMatrix(classes: classes)
    }
}

/// Linear probe and kNN on frozen features with a held-out split.
public enum ProbeEvaluation {
    /// features: one row per tile ([N][D]); labels in 0..<classes.
    public static func run(features: [[Double]], labels: [Int], classes: Int,
                           options: ProbeOptions) throws -> ProbeScores {
        let counts = (0..<classes).map { c in labels.filter { $0 == c }.count }
        guard counts.filter({ $0 >= 2 }).count >= 2 else {
            throw EvaluationError.tooFewTiles("tiles per class \(counts); the probe needs two classes with at "
                                              + "least two tiles each")
        }
        var scores = ProbeScores(classes: classes)
        for repeatIndex in 0..<options.repeats {
            let split = ProbeSplit(labels: labels, heldOutFraction: options.heldOutFraction,
                                   seed: options.seed &+ UInt64(repeatIndex))
            let trainX = split.train.map { features[$0] }, trainY = split.train.map { labels[$0] }
            let testX = split.heldOut.map { features[$0] }, testY = split.heldOut.map { labels[$0] }
            let probe = LinearProbe.crossValidated(features: trainX, labels: trainY, classes: classes)
            let linear = ConfusionMatrix(truth: testY, predicted: probe.predict(testX), classes: classes)
            let knn = NearestNeighbours(features: trainX, labels: trainY, classes: classes, k: options.neighbours,
                                        temperature: options.temperature)
            let neighbours = ConfusionMatrix(truth: testY, predicted: knn.predict(testX), classes: classes)
            let frequent = (0..<classes).max { c1, c2 in
                (trainY.filter { $0 == c1 }.count, -c1) < (trainY.filter { $0 == c2 }.count, -c2)
            }!
            scores.linear.append(linear.accuracy)
            scores.nearestNeighbours.append(neighbours.accuracy)
            scores.majorityClass.append(Double(testY.filter { $0 == frequent }.count) / Double(testY.count))
            scores.linearMatrix.add(linear)
            scores.nearestNeighbourMatrix.add(neighbours)
            scores.regularization.append(probe.regularization)
            scores.trainTiles = trainX.count
            scores.heldOutTiles = testX.count
        }
        return scores
    }
}

/// Mean and (sample) standard deviation.
public func meanAndSpread(_ values: [Double]) -> (mean: Double, std: Double) {
    guard !values.isEmpty else { return (0, 0) }
    let mean = values.reduce(0, +) / Double(values.count)
    guard values.count > 1 else { return (mean, 0) }
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
    return (mean, variance.squareRoot())
}
