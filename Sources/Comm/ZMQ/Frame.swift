#if canImport(FoundationEssentials)
import FoundationEssentials  // ContiguousBytes only
#else
import Foundation
#endif
import CZeroMQ

// MARK: - One frame of a multipart message, owning its bytes

/// One frame: a heap-allocated `zmq_msg_t` with exactly one owner.
///
/// `zmq_msg_t` must never be copied by value (a copy double-frees on close), so it lives behind this
/// class and is only ever moved into libzmq. Sending *consumes* a frame: libzmq takes the bytes and the
/// frame becomes empty (`count == 0`). A frame may cross threads (libzmq messages are not tied to a
/// thread), but only one thread may use it at a time; the transports hand frames over, never share them.
public final class Frame: @unchecked Sendable, ContiguousBytes {
    /// The owned message; stable address, closed in `deinit`.
    let message: UnsafeMutablePointer<zmq_msg_t>

    /// An empty frame (also the state of a frame after it was sent).
    public init() {
        message = .allocate(capacity: 1)
        zmq_msg_init(message)
    }

    /// A frame holding a copy of `bytes`.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count) { destination in
            if let base = bytes.baseAddress, !bytes.isEmpty {
                destination.baseAddress!.copyMemory(from: base, byteCount: bytes.count)
            }
        }
    }

    /// A frame holding a copy of `bytes`.
    public convenience init(_ bytes: [UInt8]) {
        self.init(count: bytes.count) { destination in
            bytes.withUnsafeBytes { destination.copyMemory(from: $0) }
        }
    }

    /// A frame of `count` bytes filled by `fill` (one allocation, no extra copy).
    public init(count: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        precondition(count >= 0, "Frame: negative size \(count)")
        message = .allocate(capacity: 1)
        guard zmq_msg_init_size(message, count) == 0 else {
            message.deallocate()
            fatalError("Frame: out of memory allocating \(count) bytes")
        }
        fill(UnsafeMutableRawBufferPointer(start: zmq_msg_data(message), count: count))
    }

    /// A zero-copy frame over memory the caller keeps alive and unchanged until `onRelease` runs.
    ///
    /// `onRelease` runs exactly once, on a libzmq I/O thread (or on the thread that drops an unsent
    /// frame), possibly after the caller's function has returned. Each call retains its own closure box,
    /// so nothing it captures can be freed early (notes: zero-copy pitfall 4).
    public init(lending bytes: UnsafeRawBufferPointer, onRelease: @escaping @Sendable () -> Void) {
        message = .allocate(capacity: 1)
        let box = Unmanaged.passRetained(ReleaseBox(onRelease)).toOpaque()
        let data = UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!)
        let status = zmq_msg_init_data(message, data, bytes.count, { _, hint in
            Unmanaged<ReleaseBox>.fromOpaque(hint!).takeRetainedValue().run()
        }, box)
        precondition(status == 0, "Frame: zmq_msg_init_data failed")
    }

    deinit {
        zmq_msg_close(message)
        message.deallocate()
    }

    /// Bytes in the frame.
    public var count: Int { zmq_msg_size(message) }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: zmq_msg_data(message), count: zmq_msg_size(message)))
    }

    /// Moves the contents into a new frame and leaves this one empty (what a send does to a frame).
    public func take() -> Frame {
        let moved = Frame()
        zmq_msg_move(moved.message, message)
        return moved
    }

    /// The frame's bytes as an array (a copy; for tests and small frames).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}

/// Carries a release closure through libzmq's C callback `hint`.
private final class ReleaseBox {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}
