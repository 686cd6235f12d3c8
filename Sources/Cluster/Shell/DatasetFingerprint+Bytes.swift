import EOData

// MARK: - The dataset fingerprint as Join carries it

extension DatasetFingerprint {
    /// The 32 bytes of the hex digest (what Join carries).
    public var bytes: [UInt8] {
        var result: [UInt8] = []
        var digits = hex.makeIterator()
        while let high = digits.next(), let low = digits.next() {
            result.append(UInt8(String([high, low]), radix: 16) ?? 0)
        }
        return result
    }
}
