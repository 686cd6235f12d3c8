import Testing
import Wire

/// Random and mutated inputs: decode never crashes; it either accepts (and then the result is
/// self-consistent) or throws a `WireError`.
@Suite("Wire decoder properties")
struct DecoderPropertyTests {
    /// Checks an accepted message's invariants; returns whether it was accepted.
    private func decodeChecked(_ frames: [[UInt8]], expected: RunID?) -> Bool {
        do {
            let message = try WireCodec.decode(frames: frames, expectedRunID: expected, limits: .standard)
            #expect(message.envelope.type == message.body.type)
            #expect(message.envelope.payloadLength == UInt64(frames.dropFirst().reduce(0) { $0 + $1.count }))
            #expect(message.envelope.protocolVersion == Envelope.currentProtocolVersion)
            return true
        } catch {
            #expect(!error.description.isEmpty)
            return false
        }
    }

    @Test("5000 random byte strings, one to four frames: all rejected, none crash")
    func randomBytes() {
        var rng = SplitMix(state: 42)
        var accepted = 0
        for _ in 0..<5000 {
            let frameCount = 1 + rng.below(4)
            let frames = (0..<frameCount).map { _ in
                (0..<rng.below(300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            if decodeChecked(frames, expected: nil) { accepted += 1 }
        }
        #expect(accepted == 0)  // random bytes essentially never form version 1 + a valid body + matching CRC
    }

    @Test("20000 mutations of valid messages (bit flips, cuts, insertions, splices): never crash")
    func mutations() {
        var rng = SplitMix(state: 7)
        let valid = sampleBodies.map { sampleFrames($0) }
        var accepted = 0
        var rejected = 0
        for _ in 0..<20000 {
            var frames = valid[rng.below(valid.count)]
            let target = rng.below(frames.count)
            frames[target] = mutate(frames[target], donor: valid[rng.below(valid.count)][0], rng: &rng)
            if decodeChecked(frames, expected: rng.below(2) == 0 ? sampleRun : nil) {
                accepted += 1
            } else {
                rejected += 1
            }
        }
        #expect(rejected > 10000)
        #expect(accepted > 0)  // some mutations only touch values (e.g. sequence) and stay valid
    }

    private func mutate(_ bytes: [UInt8], donor: [UInt8], rng: inout SplitMix) -> [UInt8] {
        var out = bytes
        switch rng.below(5) {
        case 0 where !out.isEmpty:
            for _ in 0...rng.below(3) { out[rng.below(out.count)] ^= UInt8(1) << UInt8(rng.below(8)) }
        case 1 where !out.isEmpty:
            out = Array(out[..<rng.below(out.count)])
        case 2:
            let at = rng.below(out.count + 1)
            out.insert(contentsOf: (0...rng.below(8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
        case 3 where !out.isEmpty:
            out[rng.below(out.count)] = [0x00, 0x7F, 0x80, 0xFF][rng.below(4)]
        default:
            let cut = rng.below(out.count + 1)
            out = Array(out[..<cut]) + Array(donor[rng.below(donor.count + 1)...])
        }
        return out
    }
}
