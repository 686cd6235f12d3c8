import Foundation

// MARK: - A dedicated OS thread that runs jobs in order, and a mailbox for their results

/// Runs submitted jobs one at a time, in submission order, on its own OS thread. Socket calls and long
/// computations block, so they never run on the Swift concurrency pool (transport notes): a shell gives
/// them to a `SerialThread` and keeps its own loop responsive.
final class SerialThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var busy = false
    private var stopping = false
    private var exited = false

    init(name: String) {
        let thread = Thread { [self] in loop() }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Queues `job` behind the ones already submitted.
    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        defer { condition.unlock() }
        precondition(!stopping, "SerialThread: submit after stop")
        jobs.append(job)
        condition.signal()
    }

    /// True when no job is queued or running.
    var isIdle: Bool {
        condition.lock()
        defer { condition.unlock() }
        return jobs.isEmpty && !busy
    }

    /// Runs the queued jobs, then ends the thread; waits at most `timeout` for that. Returns whether it ended.
    @discardableResult
    func stop(timeout: TimeInterval) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        stopping = true
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: timeout)
        while !exited && condition.wait(until: deadline) {}
        return exited
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            guard !jobs.isEmpty else {
                exited = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            busy = true
            condition.unlock()
            job()
            condition.lock()
            busy = false
            condition.broadcast()
            condition.unlock()
        }
    }
}

/// Values posted by one thread and drained by another (results of jobs back to a shell's loop).
final class Mailbox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Value] = []

    func post(_ value: Value) {
        lock.lock()
        values.append(value)
        lock.unlock()
    }

    /// Everything posted so far, oldest first.
    func drain() -> [Value] {
        lock.lock()
        defer { lock.unlock() }
        let drained = values
        values.removeAll()
        return drained
    }
}
