import Foundation
import Testing
import Wire

/// The committed fuzz seeds (Fuzz/corpus/wire, written by `scripts/fuzz-wire --seeds`) must stay valid
/// messages of the current schema, or the fuzzer starts from noise.
@Suite("Wire fuzz seed corpus")
struct SeedCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus/wire")

    /// Splits a multi-frame seed: mode byte, then frames as 4-byte little-endian length + bytes.
    private func frames(_ seed: [UInt8]) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        var index = 1
        while index + 4 <= seed.count {
            let length = (0..<4).reduce(0) { $0 | Int(seed[index + $1]) << (8 * $1) }
            index += 4
            let end = min(index + length, seed.count)
            frames.append(Array(seed[index..<end]))
            index = end
        }
        return frames
    }

    @Test("every multi-frame seed decodes, and together they cover every message type")
    func seedsDecode() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path)
            .filter { $0.hasSuffix(".multi") }
        #expect(names.count >= MessageType.allCases.count)
        var types = Set<MessageType>()
        for name in names {
            let seed = try [UInt8](Data(contentsOf: Self.corpus.appendingPathComponent(name)))
            #expect(seed.first == 3, "\(name): mode byte should be multi-frame with the run id check")
            let run = RunID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)
            let message = try WireCodec.decode(frames: frames(seed), expectedRunID: run, limits: .standard)
            types.insert(message.envelope.type)
        }
        #expect(types == Set(MessageType.allCases))
    }
}
