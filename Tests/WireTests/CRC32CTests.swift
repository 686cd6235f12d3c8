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

    /// The one-pass copy: at lengths around every block size of the folding loop (256, 64, 16 bytes and the
    /// fold minimum), from odd starts into aligned and unaligned destinations, with plain and streaming
    /// stores, it writes exactly the source bytes (and nothing past them) and returns the table path's CRC.
    @Test("copy with CRC: same bytes and CRC as a copy and the table path, every store kind and alignment")
    func copyingCRC() {
        let bytes = randomBytes(70_000, seed: 29)
        var lengths = [0, 1, 15, 16, 255, 256, 1023] + Array(1024...1300)
        lengths += [4096, 4111, 4160, 4175, 65_536 + 64 + 16 + 7]
        for length in lengths {
            for (start, seed, shift) in [(0, UInt32(0), 0), (3, 0x1234_5678, 64), (63, .max, 5)] {
                for streaming in [false, true] {
                    let room = length + 128
                    let target = UnsafeMutableRawBufferPointer.allocate(byteCount: room, alignment: 64)
                    defer { target.deallocate() }
                    target.initializeMemory(as: UInt8.self, repeating: 0xA5)
                    let source = Array(bytes[start..<(start + length)])
                    let crc = source.withUnsafeBytes { from in
                        crc32cCopying(from, to: target.baseAddress! + shift, seed: seed, streaming: streaming)
                    }
                    guard let crc else { return }   // no folding on this CPU: nothing to check
                    let what = "length \(length) from \(start) to +\(shift), streaming \(streaming)"
                    #expect(crc == source.withUnsafeBytes { crc32cPortable($0, seed: seed) }, "\(what)")
                    #expect(Array(target[shift..<(shift + length)]) == source, "\(what)")
                    #expect(target[..<shift].allSatisfy { $0 == 0xA5 }, "\(what): before")
                    #expect(target[(shift + length)...].allSatisfy { $0 == 0xA5 }, "\(what): after")
                }
            }
        }
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

    @Test("combine: the CRCs of two parts, each from seed 0, join to the CRC of the whole")
    func combine() {
        let bytes = randomBytes(70_000, seed: 31)
        for split in [0, 1, 7, 1000, 4096, 65_536] {
            for end in [split, split + 1, split + 17, split + 1638, 70_000] where end <= bytes.count {
                let first = crc32c(Array(bytes[..<split])), second = crc32c(Array(bytes[split..<end]))
                #expect(crc32cCombine(first, second, secondLength: end - split) == crc32c(Array(bytes[..<end])),
                        "split \(split), end \(end)")
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
