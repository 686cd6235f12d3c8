#if canImport(Glibc)
import Glibc
#endif
import ShmC

// MARK: - One mapped shared-memory mailbox (ShmC), owned by one Swift object

/// A mapping of a mailbox (`Sources/ShmC/include/shm_mailbox.h`), unmapped when the last user is gone:
/// the transport and every `SlotLease` of a received message keep it alive, so a frame that outlives
/// `close()` still points into mapped memory.
final class SharedMemoryMailbox: @unchecked Sendable {
    let handle: OpaquePointer

    private init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit { nm_shm_close(handle) }

    /// Receiver: creates the mailbox `name` (replacing a stale one).
    static func create(name: String, slots: Int, slotBytes: Int) throws(TransportError) -> SharedMemoryMailbox {
        var handle: OpaquePointer?
        let status = nm_shm_create(name, UInt32(clamping: slots), UInt64(clamping: slotBytes), &handle)
        guard status == 0, let handle else { throw systemError("create shared-memory mailbox \(name)", status) }
        return SharedMemoryMailbox(handle: handle)
    }

    /// Sender: attaches to `name` (taking it over from a previous sender); nil while it does not exist yet.
    static func attach(name: String) throws(TransportError) -> SharedMemoryMailbox? {
        var handle: OpaquePointer?
        let status = nm_shm_attach(name, &handle)
        if status == ENOENT { return nil }
        guard status == 0, let handle else { throw systemError("attach to shared-memory mailbox \(name)", status) }
        return SharedMemoryMailbox(handle: handle)
    }

    var slotCapacity: Int { Int(nm_shm_slot_capacity(handle)) }

    func setSpin(_ duration: Duration) { nm_shm_set_spin(handle, duration.nanoseconds) }

    static func systemError(_ operation: String, _ code: Int32) -> TransportError {
        .system(operation: operation, code: code, message: String(cString: strerror(code)))
    }
}

/// One received slot: released to the sender when the last frame lent from it is dropped.
final class SlotLease: Sendable {
    private let mailbox: SharedMemoryMailbox
    private let slot: UInt32

    init(mailbox: SharedMemoryMailbox, slot: UInt32) {
        self.mailbox = mailbox
        self.slot = slot
    }

    deinit { nm_shm_release(mailbox.handle, slot) }
}

extension Duration {
    /// Whole nanoseconds (saturating), for the C side's CLOCK_MONOTONIC deadlines.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}

/// The absolute CLOCK_MONOTONIC deadline `timeout` from now.
func monotonicDeadline(after timeout: Duration) -> Int64 {
    let (sum, overflow) = nm_shm_now_ns().addingReportingOverflow(max(timeout, .zero).nanoseconds)
    return overflow ? .max : sum
}
