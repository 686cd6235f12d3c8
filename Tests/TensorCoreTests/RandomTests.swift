import Testing
import TensorCore

@Suite struct RandomTests {
    /// Known-answer vectors of Philox4x32-10 from Random123's kat_vectors.
    @Test func philoxMatchesKnownAnswers() {
        #expect(Philox4x32.block(counter: .zero, key: .zero)
                == SIMD4(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8))
        #expect(Philox4x32.block(counter: SIMD4(repeating: 0xffff_ffff), key: SIMD2(repeating: 0xffff_ffff))
                == SIMD4(0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd))
        #expect(Philox4x32.block(counter: SIMD4(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344),
                                 key: SIMD2(0xa409_3822, 0x299f_31d0))
                == SIMD4(0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1))
    }

    @Test func streamsDependOnlyOnTheirKey() {
        let rng = CounterRNG(seed: 7)
        var forward: [UInt32] = []
        for sample in 0..<50 {
            var s = rng.stream(3, UInt32(sample), 1)
            forward.append(s.nextUInt32())
        }
        var backward = [UInt32](repeating: 0, count: 50)
        for sample in (0..<50).reversed() {
            var s = rng.stream(3, UInt32(sample), 1)
            backward[sample] = s.nextUInt32()
        }
        #expect(forward == backward)
        var a = rng.stream(3, 0, 1), b = rng.stream(3, 0, 2), c = CounterRNG(seed: 8).stream(3, 0, 1)
        let first = (0..<8).map { _ in a.nextUInt32() }
        #expect(first != (0..<8).map { _ in b.nextUInt32() })
        #expect(first != (0..<8).map { _ in c.nextUInt32() })
    }

    @Test func uniformAndNormalMomentsAreRight() {
        var s = CounterRNG(seed: 1).stream(0)
        let n = 200_000
        var sum = 0.0, sumSquares = 0.0, minimum: Float = 1, maximum: Float = 0
        for _ in 0..<n {
            let u = s.nextUniform()
            minimum = min(minimum, u); maximum = max(maximum, u)
            sum += Double(u); sumSquares += Double(u) * Double(u)
        }
        #expect(minimum >= 0 && maximum < 1)
        #expect(abs(sum / Double(n) - 0.5) < 0.005)                    // sd of mean ≈ 0.0006
        #expect(abs(sumSquares / Double(n) - 1.0 / 3.0) < 0.005)

        var g = CounterRNG(seed: 2).stream(0)
        var m1 = 0.0, m2 = 0.0
        for _ in 0..<n {
            let z = Double(g.nextNormal())
            m1 += z; m2 += z * z
        }
        #expect(abs(m1 / Double(n)) < 0.01)                             // sd of mean ≈ 0.0022
        #expect(abs(m2 / Double(n) - 1) < 0.02)
    }

    @Test func boundedIntegersAreUniformAndInRange() {
        var s = CounterRNG(seed: 3).stream(9)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[s.nextInt(below: 7)] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 })             // ~5 sd
    }
}
