import Comm
import Foundation
import ShmC
import Testing

// MARK: - Plain or streaming copies into shared-memory slots

@Suite("SlotCopyPolicy")
struct SlotCopyPolicyTests {
    static let large = SlotCopyPolicy.largeFrameBytes

    /// Runs `copies` large copies through `policy`, each kind costing what `cost` says (ns per byte), and
    /// returns the kinds used.
    static func drive(_ policy: inout SlotCopyPolicy, copies: Int,
                      cost: (SlotCopyPolicy.Kind) -> Double) -> [SlotCopyPolicy.Kind] {
        (0..<copies).map { _ in
            let kind = policy.kind(forBytes: large)
            policy.record(kind, bytes: large, nanoseconds: Int64(cost(kind) * Double(large)))
            return kind
        }
    }

    @Test("small frames are always copied plainly and teach the policy nothing")
    func smallFrames() {
        var policy = SlotCopyPolicy()
        for _ in 0..<100 {
            #expect(policy.kind(forBytes: Self.large - 1) == .plain)
            policy.record(.streaming, bytes: Self.large - 1, nanoseconds: 1)
        }
        #expect(policy.plainCost == nil && policy.streamingCost == nil && policy.choice == .plain)
    }

    @Test("where plain copies are slow it switches to streaming after one probe, and back when they recover")
    func switchesBothWays() throws {
        var policy = SlotCopyPolicy()
        let slowPhase = Self.drive(&policy, copies: 40) { $0 == .plain ? 0.5 : 0.05 }   // 2 against 20 GB/s
        let first = SlotCopyPolicy.firstProbeInterval
        #expect(slowPhase.prefix(first - 1).allSatisfy { $0 == .plain })
        #expect(slowPhase[first - 1] == .streaming, "the first probe tries streaming")
        #expect(policy.choice == .streaming)
        #expect(slowPhase[first...].filter { $0 == .plain }.count <= 40 / first, "plain only as a probe")
        // The phase ends: plain copies are as fast again; the next probe of the plain copy brings it back.
        let recovery = Self.drive(&policy, copies: SlotCopyPolicy.maxProbeInterval) { _ in 0.05 }
        #expect(policy.choice == .plain)
        let back = try #require(recovery.firstIndex(of: .plain), "a plain probe came within the longest interval")
        let after = recovery[(back + 1)...]
        #expect(after.filter { $0 == .streaming }.count <= after.count / SlotCopyPolicy.firstProbeInterval,
                "once back, streaming is used only as a probe")
    }

    @Test("streaming must be more than twice as fast: at 1.5x the plain copy stays, and probes grow rarer")
    func prefersPlain() {
        var policy = SlotCopyPolicy()
        let kinds = Self.drive(&policy, copies: 2000) { $0 == .plain ? 0.075 : 0.05 }
        #expect(policy.choice == .plain)
        let probes = kinds.filter { $0 == .streaming }.count
        // Intervals 8, 16, ..., 1024: far fewer than one probe per 8 copies.
        #expect(probes >= 3 && probes <= 10, "\(probes) probes in 2000 copies")
    }

    @Test("the streaming copy moves every byte, at every length and alignment, and leaves the rest alone",
          arguments: ["dispatched", "baseline"])
    func streamingCopyIsExact(path: String) {
        let copy = path == "baseline" ? nm_shm_copy_streaming_baseline : nm_shm_copy_streaming
        let capacity = 70_000
        let source = (0..<capacity).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for length in [0, 1, 63, 64, 65, 255, 256, 257, 1000, 16_384, 65_537] {
            for offset in [0, 1, 17, 63] {
                var target = [UInt8](repeating: 0xEE, count: capacity + 128)
                target.withUnsafeMutableBufferPointer { t in
                    source.withUnsafeBufferPointer { s in
                        copy(t.baseAddress! + offset, s.baseAddress! + 3, UInt64(length))
                    }
                }
                let copied = Array(target[offset..<(offset + length)]) == Array(source[3..<(3 + length)])
                let untouched = target[..<offset].allSatisfy { $0 == 0xEE }
                    && target[(offset + length)...].allSatisfy { $0 == 0xEE }
                #expect(copied && untouched, "\(path): length \(length), offset \(offset)")
            }
        }
    }
}
