import Comm
import Foundation
import Synchronization
import Testing

@Suite("ZMQ wrapper (real sockets)", .serialized)
struct ZMQSocketTests {
    /// A connected inproc PUSH -> PULL pair on `context`.
    func pair(_ context: ZMQContext, _ name: String) throws -> (push: ZMQSocket, pull: ZMQSocket) {
        let pull = try ZMQSocket(context: context, type: .pull)
        try pull.bind("inproc://\(name)")
        let push = try ZMQSocket(context: context, type: .push)
        try push.connect("inproc://\(name)")
        return (push, pull)
    }

    @Test("a multipart message arrives whole, in order, with empty and large frames")
    func multipartRoundTrip() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let (push, pull) = try pair(context, "multipart")
        defer { push.close(); pull.close() }
        let parts: [[UInt8]] = [[1, 2, 3], [], patternBytes(1 << 20)]
        let frames = parts.map { Frame($0) }
        try push.send(frames, timeout: .seconds(1))
        #expect(frames.allSatisfy { $0.count == 0 }, "send consumes the frames")
        _ = try zmqPoll([(pull, .readable)], timeout: .seconds(2))
        let received = try pull.receive(maxFrames: 8)
        #expect(received.totalFrames == 3 && !received.wasTruncated)
        #expect(received.frames.map(\.bytes) == parts)
    }

    @Test("a zero-copy frame's release callback runs exactly once, after the receiver drops it")
    func zeroCopyReleaseOnce() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let (push, pull) = try pair(context, "zerocopy")
        defer { push.close(); pull.close() }
        let releases = Atomic<Int>(0)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 64)
        defer { buffer.deallocate() }
        buffer.copyBytes(from: patternBytes(4096))
        try push.send([Frame(lending: UnsafeRawBufferPointer(buffer), onRelease: {
            releases.add(1, ordering: .sequentiallyConsistent)
        })], timeout: .seconds(1))
        _ = try zmqPoll([(pull, .readable)], timeout: .seconds(2))
        var received: ZMQMultipart? = try pull.receive(maxFrames: 1)
        #expect(received?.frames[0].bytes == patternBytes(4096))
        #expect(releases.load(ordering: .sequentiallyConsistent) == 0, "inproc passes the buffer itself")
        received = nil
        let deadline = ContinuousClock.now + .seconds(2)
        while releases.load(ordering: .sequentiallyConsistent) == 0 && ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.001)
        }
        Thread.sleep(forTimeInterval: 0.05)
        #expect(releases.load(ordering: .sequentiallyConsistent) == 1)
        _ = received

        let unsent = Atomic<Int>(0)
        do {
            _ = Frame(lending: UnsafeRawBufferPointer(buffer), onRelease: { unsent.add(1, ordering: .relaxed) })
        }
        #expect(unsent.load(ordering: .relaxed) == 1, "an unsent zero-copy frame releases when dropped")
    }

    @Test("frames beyond the cap are drained; the next message starts at its boundary")
    func frameCapDrains() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let (push, pull) = try pair(context, "cap")
        defer { push.close(); pull.close() }
        try push.send((0..<5).map { Frame([UInt8($0)]) }, timeout: .seconds(1))
        try push.send([Frame([42])], timeout: .seconds(1))
        _ = try zmqPoll([(pull, .readable)], timeout: .seconds(2))
        let capped = try pull.receive(maxFrames: 2)
        #expect(capped.wasTruncated && capped.totalFrames == 5)
        #expect(capped.frames.map(\.bytes) == [[0], [1]])
        let next = try pull.receive(maxFrames: 2)
        #expect(next.frames.map(\.bytes) == [[42]] && next.totalFrames == 1)
    }

    @Test("receive and send report timeouts; poll waits about its timeout")
    func timeouts() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let pull = try ZMQSocket(context: context, type: .pull)
        try pull.bind("inproc://timeouts")
        defer { pull.close() }
        #expect(throws: ZMQError.timeout(operation: "zmq_msg_recv")) { try pull.receive(maxFrames: 1) }
        let start = ContinuousClock.now
        let ready = try zmqPoll([(pull, .readable)], timeout: .milliseconds(60))
        #expect(ready == [[]])
        #expect(ContinuousClock.now - start >= .milliseconds(50))
        let push = try ZMQSocket(context: context, type: .push)  // no peer: a send blocks until SNDTIMEO
        defer { push.close() }
        let frame = Frame([1])
        #expect(throws: ZMQError.timeout(operation: "zmq_msg_send")) {
            try push.send([frame], timeout: .milliseconds(30))
        }
        #expect(frame.count == 1, "a timed-out send leaves the frame intact")
    }

    @Test("typed options round-trip; tcp port 0 resolves through the last endpoint")
    func options() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let socket = try ZMQSocket(context: context, type: .router)
        defer { socket.close() }
        try socket.set(.linger, 250)
        try socket.set(.maxMessageSize, Int64(5) << 32)
        try socket.set(.sendHighWaterMark, 3)
        try socket.set(.routingID, [0, 1, 2])
        #expect(try socket.get(.linger) == 250)
        #expect(try socket.get(.maxMessageSize) == Int64(5) << 32)
        #expect(try socket.get(.sendHighWaterMark) == 3)
        #expect(try socket.get(.routingID) == [0, 1, 2])
        try socket.bind("tcp://127.0.0.1:0")
        let endpoint = try socket.get(.lastEndpoint)
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:") && !endpoint.hasSuffix(":0"))
    }

    @Test("terminate wakes a blocked receive on another thread with .terminated and is idempotent")
    func terminateWakesBlockedCalls() throws {
        let context = try ZMQContext()
        let outcome = Mutex<ZMQError?>(nil)
        let done = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        Thread {
            do throws(ZMQError) {
                let socket = try ZMQSocket(context: context, type: .pull)
                try socket.bind("inproc://blocked")
                started.signal()
                withExtendedLifetime(socket) {
                    do throws(ZMQError) { _ = try socket.receive(maxFrames: 1, wait: true) } catch {
                        outcome.withLock { $0 = error }
                    }
                }
                socket.close()
            } catch {
                started.signal()
                outcome.withLock { $0 = error }
            }
            done.signal()
        }.start()
        started.wait()
        Thread.sleep(forTimeInterval: 0.05)
        context.terminate()
        #expect(done.wait(timeout: .now() + 5) == .success)
        #expect(outcome.withLock { $0 } == .terminated)
        context.terminate()
        #expect(context.isTerminated)
    }
}
