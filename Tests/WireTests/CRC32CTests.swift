import Testing
import Wire

@Suite("CRC32C")
struct CRC32CTests {
    @Test("standard check value: crc32c(\"123456789\") == 0xE3069283")
    func checkValue() {
        let bytes = Array("123456789".utf8)
        #expect(crc32c(bytes) == 0xE306_9283)
        #expect(crc32cBitwise(bytes) == 0xE306_9283)
    }

    @Test("RFC 3720 vectors: 32 zero bytes and 32 0xFF bytes")
    func iscsiVectors() {
        #expect(crc32c([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(crc32c([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(crc32c([]) == 0)
    }

    @Test("hardware and slicing-by-8 paths equal the bitwise reference for lengths 0...100 and several seeds",
          arguments: [UInt32(0), 1, 0xE306_9283, .max])
    func slicingMatchesReference(seed: UInt32) {
        for length in 0...100 {
            let bytes = randomBytes(length, seed: UInt64(length) + 17)
            let reference = crc32cBitwise(bytes, seed: seed)
            #expect(crc32c(bytes, seed: seed) == reference, "length \(length)")
            #expect(bytes.withUnsafeBytes { crc32cPortable($0, seed: seed) } == reference, "length \(length)")
        }
    }

    @Test("large buffer: both paths agree (unaligned start, 1 MiB)")
    func largeBuffer() {
        let bytes = randomBytes(1 << 20, seed: 9)
        let portable = bytes.withUnsafeBytes { crc32cPortable(UnsafeRawBufferPointer(rebasing: $0[3...])) }
        #expect(crc32c(Array(bytes[3...])) == portable)
    }

    /// Lengths around the three-chain block sizes (3·256 and 3·8192 bytes) and their multiples, odd
    /// starts and seeds: the joined chains must equal the table implementation.
    @Test("three-chain blocks: every length near the block sizes equals the table path")
    func interleavedBlocks() {
        let lengths = [767, 768, 769, 1535, 1536, 1544, 24_575, 24_576, 24_577, 25_344, 49_152, 49_920, 99_000]
        Self.expectPathsAgree(randomBytes(100_000, seed: 21), lengths: lengths,
                              starts: [(0, 0), (1, 0xDEAD_BEEF), (5, .max)])
    }

    /// Lengths around the folding path's minimum (1024 bytes) and its block sizes (256, 64, 16 bytes), with
    /// odd starts and seeds; on CPUs without VPCLMULQDQ this checks the chains a second time.
    @Test("folding: every length near the fold minimum and block sizes equals the table path")
    func foldedBlocks() {
        var lengths = Array(1000...1300) + [2047, 2048, 2049, 4095, 4096, 4111, 4112, 4113, 4160, 4175]
        lengths += [65_535, 65_536, 65_537, 65_536 + 64 + 16 + 7]
        Self.expectPathsAgree(randomBytes(70_000, seed: 23), lengths: lengths,
                              starts: [(0, 0), (3, 0x1234_5678), (63, .max)])
    }

    /// The dispatching path and the three chains equal the table path on `bytes[start ..< start + length]`.
    static func expectPathsAgree(_ bytes: [UInt8], lengths: [Int], starts: [(offset: Int, seed: UInt32)]) {
        for length in lengths {
            for (start, seed) in starts {
                bytes.withUnsafeBytes { all in
                    let slice = UnsafeRawBufferPointer(rebasing: all[start..<(start + length)])
                    let table = crc32cPortable(slice, seed: seed)
                    #expect(crc32c(slice, seed: seed) == table, "length \(length) at \(start)")
                    #expect(crc32cChains(slice, seed: seed) ?? table == table, "chains, length \(length) at \(start)")
                }
            }
        }
    }

    @Test("seed chaining: crc of a split buffer equals crc of the whole")
    func chaining() {
        let bytes = randomBytes(1000, seed: 5)
        for split in [0, 1, 13, 500, 999, 1000] {
            let first = crc32c(Array(bytes[..<split]))
            #expect(crc32c(Array(bytes[split...]), seed: first) == crc32c(bytes))
        }
    }
}
