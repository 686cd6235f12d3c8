import Comm
import Testing
import Wire

/// `RingPlan` alone: the schedule is simulated symbolically (which ranks' contributions each element
/// holds, as a bit mask) without any transport.
@Suite("RingPlan")
struct RingPlanTests {
    static let sizes = Array(1...16)
    static let chunkSizes = [1, 3, 64, 1 << 20]

    static func counts(for size: Int) -> [Int] {
        Array(Set([0, 1, 2, max(size - 1, 0), size, size + 1, 3 * size + 2, 1021]))
    }

    @Test("every element gets every rank's contribution exactly once; every rank ends with all of them",
          arguments: sizes)
    func coverage(size: Int) {
        for count in Self.counts(for: size) {
            for chunk in Self.chunkSizes {
                simulate(count: count, size: size, chunk: chunk)
            }
        }
    }

    @Test("what rank r sends at step s is what rank r+1 receives at step s, chunk by chunk", arguments: sizes)
    func sendMatchesReceive(size: Int) {
        for count in Self.counts(for: size) {
            for chunk in Self.chunkSizes {
                let plans = (0..<size).map { RingPlan(count: count, rank: $0, size: size, chunkElements: chunk) }
                for r in 0..<size {
                    let next = plans[(r + 1) % size]
                    #expect(plans[r].steps.count == next.steps.count)
                    for (mine, theirs) in zip(plans[r].steps, next.steps) {
                        #expect(mine.phase == theirs.phase && mine.ringStep == theirs.ringStep)
                        #expect(mine.sendSegment == theirs.receiveSegment)
                        #expect(mine.transfers.map(\.send) == theirs.transfers.map(\.receive))
                    }
                }
            }
        }
    }

    @Test("segments tile the buffer, chunks respect the chunk size, step counts are 2(N-1)")
    func shape() {
        for size in Self.sizes {
            for count in Self.counts(for: size) {
                for chunk in Self.chunkSizes {
                    let plan = RingPlan(count: count, rank: size - 1, size: size, chunkElements: chunk)
                    #expect(plan.segments.first?.lowerBound == 0 && plan.segments.last?.upperBound == count)
                    #expect(zip(plan.segments, plan.segments.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
                    #expect(plan.segments.map(\.count).max()! - plan.segments.map(\.count).min()! <= 1)
                    let expectedSteps = (size == 1 || count == 0) ? 0 : 2 * (size - 1)
                    #expect(plan.steps.count == expectedSteps)
                    for step in plan.steps {
                        #expect(step.transfers.count == plan.chunksPerSegment)
                        #expect(step.transfers.allSatisfy { $0.send.count <= chunk && $0.receive.count <= chunk })
                    }
                }
            }
        }
    }

    @Test("a group of one, and zero elements, plan nothing")
    func trivial() {
        #expect(RingPlan(count: 1000, rank: 0, size: 1, chunkElements: 7).steps.isEmpty)
        #expect(RingPlan(count: 0, rank: 2, size: 5, chunkElements: 7).steps.isEmpty)
        #expect(RingPlan(count: 0, rank: 2, size: 5, chunkElements: 7).chunksPerSegment == 0)
    }

    // MARK: - Symbolic simulation

    /// Runs all ranks' plans in lockstep on bit masks of contributing ranks.
    func simulate(count: Int, size: Int, chunk: Int) {
        let plans = (0..<size).map { RingPlan(count: count, rank: $0, size: size, chunkElements: chunk) }
        var held = (0..<size).map { r in [UInt32](repeating: 1 << UInt32(r), count: count) }
        let all: UInt32 = size == 32 ? .max : (1 << UInt32(size)) - 1
        var duplicates = 0, wrongCopies = 0
        for stepIndex in 0..<plans[0].steps.count {
            let before = held
            for r in 0..<size {
                let receiver = (r + 1) % size
                let step = plans[receiver].steps[stepIndex]
                for transfer in step.transfers {
                    for i in transfer.receive {
                        let incoming = before[r][i]
                        if step.phase == .reduceScatter {
                            if held[receiver][i] & incoming != 0 { duplicates += 1 }
                            held[receiver][i] |= incoming
                        } else {
                            if incoming != all { wrongCopies += 1 }
                            held[receiver][i] = incoming
                        }
                    }
                }
            }
            if stepIndex == size - 2 {
                for r in 0..<size {
                    let owned = plans[r].segments[plans[r].ownedSegment]
                    #expect(owned.allSatisfy { held[r][$0] == all }, "rank \(r) owns a full sum after reduce-scatter")
                }
            }
        }
        #expect(duplicates == 0, "size \(size) count \(count) chunk \(chunk): a contribution was added twice")
        #expect(wrongCopies == 0, "size \(size) count \(count) chunk \(chunk): all-gather copied a partial sum")
        for r in 0..<size {
            #expect(held[r].allSatisfy { $0 == all },
                    "size \(size) count \(count) chunk \(chunk): rank \(r) incomplete")
        }
    }
}
