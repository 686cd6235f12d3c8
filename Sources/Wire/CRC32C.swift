import WireC

// MARK: - CRC32C (Castagnoli): VPCLMULQDQ folding or the SSE4.2 instruction when present, tables otherwise

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `bytes`, continuing from `seed`
/// (the CRC of the bytes before; 0 to start). `crc32c("123456789") == 0xE3069283`.
public func crc32c(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
    guard CRC32CTable.hardware, let start = bytes.baseAddress else { return crc32cPortable(bytes, seed: seed) }
    return ~wire_crc32c_hardware_update(~seed, start, bytes.count)
}

/// The three-chain SSE4.2 path alone, which CPUs without VPCLMULQDQ use for every length (tests compare it);
/// nil when the CPU has no SSE4.2.
public func crc32cChains(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32? {
    guard CRC32CTable.hardware, let start = bytes.baseAddress else { return nil }
    return ~wire_crc32c_chains_update(~seed, start, bytes.count)
}

/// Copies `source` to `destination` (not overlapping) and returns CRC32C(seed, source), in one pass where the
/// CPU can fold (AVX-512 VPCLMULQDQ): each block is loaded once, stored and folded, about twice as fast as a
/// copy and then a CRC of it. `streaming`: non-temporal stores (used when `destination` is 64-byte aligned),
/// fenced before returning. nil on other CPUs, where the caller copies and checksums in two passes.
public func crc32cCopying(_ source: UnsafeRawBufferPointer, to destination: UnsafeMutableRawPointer,
                          seed: UInt32 = 0, streaming: Bool = false) -> UInt32? {
    guard CRC32CTable.folding else { return nil }
    guard let start = source.baseAddress else { return seed }
    return ~wire_crc32c_fold_copy(~seed, destination, start, source.count, streaming ? 1 : 0)
}

/// CRC32C of A ‖ B from `first` = CRC32C of A (from any seed) and `second` = CRC32C of B (from seed 0), B being
/// `secondLength` bytes: two streams checked side by side give the CRC of the two in sequence. A CRC is
/// affine in its seed, crc(B, seed: s) = crc(B, seed: 0) ⊕ s · x^(8·|B|) mod P, so the join is one
/// multiplication in GF(2)[x]/P (bit-reflected, like the register).
public func crc32cCombine(_ first: UInt32, _ second: UInt32, secondLength: Int) -> UInt32 {
    precondition(secondLength >= 0, "crc32cCombine: length \(secondLength)")
    // x^(8n) as the product of x^(2^k) over the set bits k of 8n.
    var power: UInt32 = 1 << 31   // x^0
    var exponent = UInt64(secondLength) * 8, k = 0
    while exponent != 0 {
        if exponent & 1 != 0 { power = CRC32CTable.multiplyModP(power, CRC32CTable.xToTwoToThe[k]) }
        exponent >>= 1
        k += 1
    }
    return second ^ CRC32CTable.multiplyModP(power, first)
}

/// The table implementation (slicing-by-8), used when the CPU has no SSE4.2; public for tests.
public func crc32cPortable(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
    ~CRC32CTable.shared.update(~seed, bytes)
}

/// Convenience over an array.
public func crc32c(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
    bytes.withUnsafeBytes { crc32c($0, seed: seed) }
}

/// Reference implementation, one bit at a time (tests compare the fast path to it).
public func crc32cBitwise(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
    var crc = ~seed
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0x82F6_3B78 & (0 &- (crc & 1))) }
    }
    return ~crc
}

/// Eight 256-entry tables for slicing-by-8, built once (immutable, so safe to share).
struct CRC32CTable: Sendable {
    static let shared = CRC32CTable()
    /// Whether the SSE4.2 crc32 instruction is available (checked once).
    static let hardware = wire_crc32c_hardware_available() != 0
    /// Whether the folding path (AVX-512 VPCLMULQDQ) is available (checked once).
    static let folding = hardware && wire_crc32c_fold_available() != 0

    /// x^(2^k) mod P for k = 0..<64 (bit-reflected: bit 31 is x^0), for `crc32cCombine`.
    static let xToTwoToThe: [UInt32] = {
        var powers: [UInt32] = [1 << 30]   // x^1
        for _ in 1..<64 { powers.append(multiplyModP(powers[powers.count - 1], powers[powers.count - 1])) }
        return powers
    }()

    /// a · b mod P in the bit-reflected representation (bit 31 is x^0): shift-and-add over a's bits, b
    /// multiplied by x (a right shift, reduced by the reflected polynomial) at each step.
    static func multiplyModP(_ a: UInt32, _ b: UInt32) -> UInt32 {
        var product: UInt32 = 0, multiple = b
        for bit in (0..<32).reversed() {
            if a & (1 << UInt32(bit)) != 0 { product ^= multiple }
            multiple = multiple & 1 != 0 ? (multiple >> 1) ^ 0x82F6_3B78 : multiple >> 1
        }
        return product
    }

    /// table[k * 256 + b]: CRC of byte b followed by k zero bytes.
    let table: [UInt32]

    init() {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0x82F6_3B78 & (0 &- (crc & 1))) }
            table[byte] = crc
        }
        for k in 1..<8 {
            for byte in 0..<256 {
                let previous = table[(k - 1) * 256 + byte]
                table[k * 256 + byte] = (previous >> 8) ^ table[Int(previous & 0xFF)]
            }
        }
        self.table = table
    }

    /// Updates a pre-inverted CRC register with `bytes`.
    func update(_ register: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = register
        let count = bytes.count
        var index = 0
        table.withUnsafeBufferPointer { t in
            while count - index >= 8 {
                let low = bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self).littleEndian ^ crc
                let high = bytes.loadUnaligned(fromByteOffset: index + 4, as: UInt32.self).littleEndian
                crc = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                index += 8
            }
            while index < count {
                crc = (crc >> 8) ^ t[Int((crc ^ UInt32(bytes[index])) & 0xFF)]
                index += 1
            }
        }
        return crc
    }
}
