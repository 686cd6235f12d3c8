import Foundation
import Synchronization

// MARK: - Mailboxes for the in-process transport double

/// A set of named in-process endpoints. Each `InProcessTransport` registers a mailbox under its name;
/// sends go to the mailbox named by the peer. Used by unit tests that run N ranks as N threads.
public final class InProcessNetwork: Sendable {
    private let mailboxes = Mutex<[String: InProcessMailbox]>([:])

    public init() {}

    func register(_ name: String, capacity: Int) -> InProcessMailbox {
        mailboxes.withLock { boxes in
            precondition(boxes[name] == nil, "InProcessNetwork: endpoint \(name) registered twice")
            let box = InProcessMailbox(capacity: capacity)
            boxes[name] = box
            return box
        }
    }

    func unregister(_ name: String) {
        let box = mailboxes.withLock { $0.removeValue(forKey: name) }
        box?.close()
    }

    func mailbox(_ name: String) -> InProcessMailbox? {
        mailboxes.withLock { $0[name] }
    }
}

/// A bounded FIFO of raw multipart messages (frame 1 + payload), like one socket's receive queue.
final class InProcessMailbox: @unchecked Sendable {
    /// One queued message: who sent it and its frames.
    typealias Entry = (from: PeerID, frames: [Frame])

    private let condition = NSCondition()
    private let capacity: Int
    private var queue: [Entry] = []
    private var head = 0
    private var closed = false

    init(capacity: Int) {
        precondition(capacity > 0, "InProcessMailbox: capacity must be positive")
        self.capacity = capacity
    }

    /// Appends `entry`, waiting while the queue is full. False on timeout or when closed.
    func put(_ entry: Entry, deadline: ContinuousClock.Instant) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !closed && queue.count - head >= capacity {
            guard wait(until: deadline) else { return false }
        }
        guard !closed else { return false }
        queue.append(entry)
        condition.broadcast()
        return true
    }

    /// The oldest entry, waiting until one arrives. Nil on timeout; throws when closed and empty.
    func take(deadline: ContinuousClock.Instant) throws(TransportError) -> Entry? {
        condition.lock()
        defer { condition.unlock() }
        while head == queue.count {
            guard !closed else { throw .closed }
            guard wait(until: deadline) else { return nil }
        }
        let entry = queue[head]
        head += 1
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        }
        condition.broadcast()
        return entry
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits on the condition until `deadline`; false once the deadline has passed.
    private func wait(until deadline: ContinuousClock.Instant) -> Bool {
        let remaining = ContinuousClock.now.duration(to: deadline)
        guard remaining > .zero else { return false }
        let seconds = Double(remaining.components.seconds) + Double(remaining.components.attoseconds) * 1e-18
        return condition.wait(until: Date(timeIntervalSinceNow: seconds)) || ContinuousClock.now < deadline
    }
}
