import Foundation

/// How a label raster's pixels under a tile become the tile's class.
public enum LabelRule: Sendable, Equatable {
    /// Categorical raster: the most frequent valid value of the band (ties: the smaller value).
    case majority
    /// Continuous raster: the tile's mean value, binned by ascending thresholds t_1 < … < t_m into m + 1
    /// classes: class i holds t_i <= mean < t_{i+1}.
    case thresholds([Double])
    /// Continuous raster: thresholds at the 1/n, 2/n, … quantiles of the tiles' means (n balanced classes).
    case quantiles(Int)

    /// Parses "majority", "thresholds:10,25" or "quantiles:3".
    public init(parsing text: String) throws(EvaluationError) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        switch (parts.first ?? "", parts.count) {
        case ("majority", 1):
            self = .majority
        case ("thresholds", 2):
            let values = parts[1].split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0!.isFinite }) else {
                throw .labels("thresholds \"\(parts[1])\" must be comma-separated numbers")
            }
            let numbers = values.map { $0! }
            guard zip(numbers, numbers.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw .labels("thresholds \(numbers) must increase strictly")
            }
            self = .thresholds(numbers)
        case ("quantiles", 2):
            guard let count = Int(parts[1]), (2...32).contains(count) else {
                throw .labels("quantiles \"\(parts[1])\" must be a class count in 2...32")
            }
            self = .quantiles(count)
        default:
            throw .labels("unknown rule \"\(text)\"; use majority, thresholds:T1,T2,... or quantiles:N")
        }
    }

    /// The class of each tile value (means for continuous rules, the majority value for `.majority`) and
    /// the class names. Majority classes are the distinct values in ascending order.
    func classes(of values: [Double]) -> (labels: [Int], names: [String]) {
        switch self {
        case .majority:
            let distinct = Array(Set(values)).sorted()
            let index = Dictionary(uniqueKeysWithValues: distinct.enumerated().map { ($1, $0) })
            return (values.map { index[$0]! }, distinct.map { Self.format($0) })
        case .thresholds(let cuts):
            return (values.map { value in cuts.filter { value >= $0 }.count }, Self.binNames(cuts))
        case .quantiles(let count):
            let sorted = values.sorted()
            let cuts = (1..<count).map { sorted[min(sorted.count - 1, $0 * sorted.count / count)] }
            return Self.thresholds(Array(Set(cuts)).sorted()).classes(of: values)
        }
    }

    static func binNames(_ cuts: [Double]) -> [String] {
        var names = ["< \(format(cuts[0]))"]
        for (low, high) in zip(cuts, cuts.dropFirst()) { names.append("\(format(low))–\(format(high))") }
        names.append(">= \(format(cuts[cuts.count - 1]))")
        return names
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(format: "%.3g", value)
    }
}
