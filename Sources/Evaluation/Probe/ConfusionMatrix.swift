import Foundation

/// counts[true class][predicted class] over held-out tiles, with the usual summaries.
public struct ConfusionMatrix: Codable, Sendable, Equatable {
    public private(set) var counts: [[Int]]

    public init(classes: Int) {
        counts = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
    }

    public init(truth: [Int], predicted: [Int], classes: Int) {
        self.init(classes: classes)
        add(truth: truth, predicted: predicted)
    }

    public mutating func add(truth: [Int], predicted: [Int]) {
        precondition(truth.count == predicted.count, "ConfusionMatrix: \(truth.count) vs \(predicted.count)")
        for (t, p) in zip(truth, predicted) { counts[t][p] += 1 }
    }

    public mutating func add(_ other: ConfusionMatrix) {
        for t in counts.indices { for p in counts.indices { counts[t][p] += other.counts[t][p] } }
    }

    public var total: Int { counts.joined().reduce(0, +) }
    public var correct: Int { counts.indices.reduce(0) { $0 + counts[$1][$1] } }
    public var accuracy: Double { total > 0 ? Double(correct) / Double(total) : 0 }

    /// Mean per-class recall over the classes present (the accuracy a majority-class guess cannot inflate).
    public var balancedAccuracy: Double {
        let recalls = counts.indices.compactMap { t -> Double? in
            let row = counts[t].reduce(0, +)
            return row > 0 ? Double(counts[t][t]) / Double(row) : nil
        }
        return recalls.isEmpty ? 0 : recalls.reduce(0, +) / Double(recalls.count)
    }

    /// A text table: rows are the true classes, columns the predictions.
    public func table(classNames: [String]) -> String {
        let width = max(8, (classNames.map(\.count).max() ?? 0) + 2)
        let corner = "true \\ predicted", first = max(corner.count, width)
        func pad(_ text: String, _ side: Int) -> String {
            String(repeating: " ", count: max(0, side - text.count)) + text
        }
        var lines = [pad(corner, first) + classNames.map { pad($0, width) }.joined()]
        for (t, row) in counts.enumerated() {
            lines.append(pad(classNames[t], first) + row.map { pad(String($0), width) }.joined())
        }
        return lines.joined(separator: "\n")
    }
}
