import TensorCore

/// The keyed permutation of all sites for one epoch: Fisher–Yates (Durstenfeld, from the end)
/// driven by `CounterRNG(seed).stream(epoch, 0, .permutation)`. A pure function of (seed, epoch, n).
public func epochPermutation(seed: UInt64, epoch: Int, count: Int) -> [Int32] {
    precondition(count >= 0 && count <= Int(Int32.max), "epochPermutation: count \(count) out of range")
    precondition(epoch >= 0 && epoch <= Int(UInt32.max), "epochPermutation: epoch \(epoch) out of range")
    var order = (0..<Int32(count)).map { $0 }
    var stream = CounterRNG(seed: seed).stream(UInt32(epoch), 0, RandomPurpose.permutation.rawValue)
    var i = count - 1
    while i > 0 {
        let j = stream.nextInt(below: i + 1)
        order.swapAt(i, j)
        i -= 1
    }
    return order
}
