import Foundation

// MARK: - One direction of a proxied connection, delayed chunk by chunk

/// Copies bytes from `source` to `destination` (file descriptors of connected TCP sockets), holding each
/// chunk until `delay ± jitter` after it was read. Chunks leave in order (a TCP stream cannot reorder),
/// so a chunk's release time is at least its predecessor's; throughput is unchanged, latency is added.
/// A reader and a writer thread share a queue; EOF or an error on either side ends both.
final class DelayLine: @unchecked Sendable {
    private let source: Int32
    private let destination: Int32
    private let delay: Double
    private let jitter: Double
    private let condition = NSCondition()
    private var queue: [(release: Double, bytes: [UInt8])] = []
    private var finished = false
    private var lastRelease = 0.0
    private var random: SystemRandomNumberGenerator

    init(from source: Int32, to destination: Int32, delayMs: Double, jitterMs: Double) {
        self.source = source
        self.destination = destination
        delay = delayMs / 1000
        jitter = jitterMs / 1000
        random = SystemRandomNumberGenerator()
    }

    /// Starts both threads; `done` runs once the writer has finished.
    func start(done: @escaping @Sendable () -> Void) {
        Thread { [self] in read() }.start()
        Thread { [self] in write(); done() }.start()
    }

    private static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    private func read() {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            condition.lock()
            if count <= 0 {
                finished = true
                condition.signal()
                condition.unlock()
                return
            }
            let offset = jitter > 0 ? Double.random(in: -jitter...jitter, using: &random) : 0
            let release = max(Self.now() + max(0, delay + offset), lastRelease)
            lastRelease = release
            queue.append((release, Array(buffer[0..<count])))
            condition.signal()
            condition.unlock()
        }
    }

    private func write() {
        while true {
            condition.lock()
            while queue.isEmpty && !finished { condition.wait() }
            guard let chunk = queue.first else {
                condition.unlock()
                shutdown(destination, Int32(SHUT_WR))
                return
            }
            queue.removeFirst()
            condition.unlock()
            let wait = chunk.release - Self.now()
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            var sent = 0
            while sent < chunk.bytes.count {
                let n = chunk.bytes.withUnsafeBytes { send(destination, $0.baseAddress! + sent, $0.count - sent,
                                                           Int32(MSG_NOSIGNAL)) }
                if n <= 0 {
                    shutdown(source, Int32(SHUT_RD))
                    return
                }
                sent += n
            }
        }
    }
}
