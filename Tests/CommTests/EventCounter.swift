import Foundation
import Synchronization

// MARK: - Counting events that happen on another thread

/// Counts events recorded from any thread (zero-copy releases on libzmq's I/O thread, messages a consumer
/// thread took) and waits for them.
final class EventCounter: Sendable {
    private let count = Mutex(0)

    var record: @Sendable () -> Void { { self.count.withLock { $0 += 1 } } }

    /// Waits up to 2 s for `expected` events, then checks there were exactly that many.
    func wait(for expected: Int) -> Bool {
        let deadline = ContinuousClock.now + .seconds(2)
        while count.withLock({ $0 }) < expected && ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.001)
        }
        Thread.sleep(forTimeInterval: 0.02)
        return count.withLock { $0 } == expected
    }
}
