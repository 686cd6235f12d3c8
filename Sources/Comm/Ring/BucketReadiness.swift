import Foundation

// MARK: - Buckets that backward marks ready while the ring already reduces earlier ones

/// Readiness flags of the gradient buckets of one step, set by the producer (backward, any thread) and
/// awaited by the ring thread in bucket order.
public final class BucketReadiness: @unchecked Sendable {
    private let condition = NSCondition()
    private var ready: [Bool]

    public init(buckets: Int) {
        ready = Array(repeating: false, count: buckets)
    }

    /// A readiness where every bucket is already ready (one-shot all-reduce).
    public static func allReady(buckets: Int) -> BucketReadiness {
        let readiness = BucketReadiness(buckets: buckets)
        for i in 0..<buckets { readiness.markReady(i) }
        return readiness
    }

    /// Marks bucket `index` ready (its gradients are final); call from any thread.
    public func markReady(_ index: Int) {
        condition.lock()
        ready[index] = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until bucket `index` is ready; false if `timeout` passed first.
    public func wait(for index: Int, timeout: Duration) -> Bool {
        let deadline = Date(timeIntervalSinceNow: Double(timeout.components.seconds)
                            + Double(timeout.components.attoseconds) * 1e-18)
        condition.lock()
        defer { condition.unlock() }
        while !ready[index] {
            if !condition.wait(until: deadline) { return ready[index] }
        }
        return true
    }

    /// Clears every flag for the next step.
    public func reset() {
        condition.lock()
        for i in ready.indices { ready[i] = false }
        condition.unlock()
    }
}

/// Counts zero-copy chunks lent to the transport and waits for their release callbacks.
final class LendLedger: @unchecked Sendable {
    private let condition = NSCondition()
    private var outstanding = 0

    func lend() {
        condition.lock()
        outstanding += 1
        condition.unlock()
    }

    func release() {
        condition.lock()
        outstanding -= 1
        if outstanding == 0 { condition.broadcast() }
        condition.unlock()
    }

    /// Waits until nothing is lent; returns how many chunks are still outstanding after `timeout`.
    func waitForReleases(timeout: Duration) -> Int {
        let deadline = Date(timeIntervalSinceNow: Double(timeout.components.seconds)
                            + Double(timeout.components.attoseconds) * 1e-18)
        condition.lock()
        defer { condition.unlock() }
        while outstanding > 0 {
            if !condition.wait(until: deadline) { break }
        }
        return outstanding
    }
}
