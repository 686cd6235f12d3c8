import TensorCore

/// A seeded, stratified train / held-out split: within every class, a `heldOutFraction` share of its
/// tiles (rounded, at least one when the class has two or more) is held out, chosen by a shuffle from
/// `CounterRNG(seed)`. The same (labels, fraction, seed) always gives the same split.
public struct ProbeSplit: Sendable, Equatable {
    public let train: [Int]
    public let heldOut: [Int]

    public init(labels: [Int], heldOutFraction: Double, seed: UInt64) {
        precondition(heldOutFraction > 0 && heldOutFraction < 1, "ProbeSplit: fraction \(heldOutFraction)")
        var train: [Int] = [], heldOut: [Int] = []
        let classes = (labels.max() ?? -1) + 1
        for label in 0..<classes {
            var members = labels.indices.filter { labels[$0] == label }
            var stream = CounterRNG(seed: seed).stream(UInt32(label), 0x5350_4C54)     // "SPLT"
            for i in stride(from: members.count - 1, to: 0, by: -1) {                  // Fisher–Yates
                members.swapAt(i, stream.nextInt(below: i + 1))
            }
            let count = members.count < 2 ? 0
                : min(members.count - 1, max(1, Int((heldOutFraction * Double(members.count)).rounded())))
            heldOut += members.prefix(count)
            train += members.dropFirst(count)
        }
        self.train = train.sorted()
        self.heldOut = heldOut.sorted()
    }
}
