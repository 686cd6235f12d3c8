import Synchronization
import Testing
import TensorCore

@Suite struct ThreadPoolTests {
    @Test(arguments: [1, 2, 3, 8])
    func everyTaskRunsExactlyOnce(threads: Int) {
        let pool = ThreadPool(threadCount: threads)
        for taskCount in [0, 1, 2, 7, 1000] {
            let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(taskCount, 1))
            hits.initialize(repeating: 0)
            defer { hits.deallocate() }
            let seenThreads = Mutex<Set<Int>>([])
            pool.parallelFor(taskCount) { task, thread in
                hits[task] += 1                // each task index is written by one thread only
                seenThreads.withLock { _ = $0.insert(thread) }
            }
            #expect(hits.prefix(taskCount).allSatisfy { $0 == 1 }, "threads \(threads), tasks \(taskCount)")
            seenThreads.withLock { seen in
                #expect(seen.allSatisfy { (0..<threads).contains($0) })
            }
        }
    }

    @Test func nestedLoopsRunInline() {
        let pool = ThreadPool(threadCount: 2)
        let total = Atomic<Int>(0)
        pool.parallelFor(4) { _, _ in
            pool.parallelFor(5) { _, _ in total.add(1, ordering: .relaxed) }
        }
        #expect(total.load(ordering: .relaxed) == 20)
    }

    @Test func rangesCoverTheCountContiguously() {
        let pool = ThreadPool(threadCount: 3)
        let covered = Mutex<[Range<Int>]>([])
        pool.parallelFor(range: 103, grain: 10) { range, _ in covered.withLock { $0.append(range) } }
        let ranges = covered.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
        #expect(ranges.count == 11)
        #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == 103)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
    }

    @Test func manyShortLoopsDoNotDeadlock() {
        let pool = ThreadPool(threadCount: 2)
        let total = Atomic<Int>(0)
        for _ in 0..<20_000 {
            pool.parallelFor(2) { _, _ in total.add(1, ordering: .relaxed) }
        }
        #expect(total.load(ordering: .relaxed) == 40_000)
    }
}
