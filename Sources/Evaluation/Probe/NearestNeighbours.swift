import Foundation

/// Weighted k-nearest-neighbour classification on cosine similarity (as in DINO's kNN evaluation):
/// features are L2-normalised, the k most similar training rows vote with weight exp(similarity / τ).
public struct NearestNeighbours: Sendable {
    public let k: Int
    public let temperature: Double
    let rows: [[Double]]
    let labels: [Int]
    let classes: Int

    public init(features: [[Double]], labels: [Int], classes: Int, k: Int = 20, temperature: Double = 0.07) {
        precondition(!features.isEmpty && features.count == labels.count && k >= 1 && temperature > 0,
                     "NearestNeighbours: \(features.count) rows, \(labels.count) labels, k \(k)")
        rows = features.map(Self.normalised)
        self.labels = labels
        self.classes = classes
        self.k = min(k, features.count)
        self.temperature = temperature
    }

    public func predict(_ features: [[Double]]) -> [Int] {
        features.map { query in
            let q = Self.normalised(query)
            let similarities = rows.map { zip($0, q).reduce(0) { $0 + $1.0 * $1.1 } }
            // Ties in similarity are broken by training-row index, so predictions are deterministic.
            let nearest = similarities.indices.sorted { (similarities[$0], -$0) > (similarities[$1], -$1) }.prefix(k)
            var votes = [Double](repeating: 0, count: classes)
            for index in nearest { votes[labels[index]] += Foundation.exp(similarities[index] / temperature) }
            return votes.indices.max { votes[$0] < votes[$1] }!
        }
    }

    static func normalised(_ row: [Double]) -> [Double] {
        let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? row.map { $0 / norm } : row
    }
}
