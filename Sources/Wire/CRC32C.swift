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
