import Foundation

// MARK: - Prometheus metrics over HTTP (text exposition format 0.0.4)

/// What the coordinator publishes; the shell updates it after every event, the server thread reads it.
struct RunGauges: Sendable {
    var committedSteps = 0
    var totalSteps = 0
    var loss = 0.0
    var pairsPerSecond = 0.0
    var workersInRing = 0
    var workersRegistered = 0
    var joins = 0
    var evictions = 0
    var leaves = 0
    /// Bus bandwidth of the last step's all-reduce (bytes/s, nccl-tests definition), 0 before the first.
    var allReduceBusBandwidth = 0.0
    var lastCheckpointStep = -1
    /// Monotonic seconds at the last written checkpoint (nil: none yet in this process).
    var lastCheckpointAt: Double?

    /// The exposition text at monotonic time `now` (seconds).
    func exposition(now: Double) -> String {
        var lines: [String] = []
        func gauge(_ name: String, _ help: String, _ value: Double, type: String = "gauge") {
            lines.append("# HELP neighbormae_\(name) \(help)")
            lines.append("# TYPE neighbormae_\(name) \(type)")
            lines.append("neighbormae_\(name) \(value)")
        }
        gauge("step", "Optimizer steps committed.", Double(committedSteps))
        gauge("steps_total", "Optimizer steps of the run.", Double(totalSteps))
        gauge("loss", "Loss of the last committed step (plain objective over the global batch).", loss)
        gauge("pairs_per_second", "Neighbour pairs per second over recent steps.", pairsPerSecond)
        gauge("workers_alive", "Workers in the ring.", Double(workersInRing))
        gauge("workers_registered", "Workers registered (in the ring or joining).", Double(workersRegistered))
        gauge("joins_total", "Worker registrations so far.", Double(joins), type: "counter")
        gauge("evictions_total", "Workers removed for a failure (silence, timeout, bad state).", Double(evictions),
              type: "counter")
        gauge("leaves_total", "Workers that left gracefully or joined again.", Double(leaves), type: "counter")
        gauge("allreduce_bus_bandwidth_bytes_per_second", "Bus bandwidth of the last step's ring all-reduce.",
              allReduceBusBandwidth)
        gauge("checkpoint_step", "Step of the newest checkpoint written by this coordinator (-1: none).",
              Double(lastCheckpointStep))
        gauge("checkpoint_age_seconds", "Seconds since that checkpoint was written (-1: none).",
              lastCheckpointAt.map { now - $0 } ?? -1)
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A minimal HTTP/1.0 server on its own thread: `GET /metrics` answers the current `RunGauges`, anything
/// else 404. One request per connection; a slow or broken client can hold it for at most 2 s.
final class MetricsEndpoint: @unchecked Sendable {
    private let lock = NSLock()
    private var gauges = RunGauges()
    private let listener: Int32
    /// The bound address, e.g. `127.0.0.1:9464`.
    let address: String

    /// Binds `host:port` (port 0 picks a free one); throws when it cannot.
    init(bind: String) throws {
        let parts = bind.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else {
            throw CoordinatorSetupError("--metrics expects HOST:PORT, not \(bind)")
        }
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        guard inet_pton(AF_INET, String(parts[0]), &socketAddress.sin_addr) == 1 else {
            throw CoordinatorSetupError("--metrics: \(parts[0]) is not an IPv4 address")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw CoordinatorSetupError("cannot serve metrics on \(bind): \(reason); hint: pick another --metrics port")
        }
        listener = fd
        address = "\(parts[0]):\(UInt16(bigEndian: socketAddress.sin_port))"
        let thread = Thread { [self] in serve() }
        thread.name = "neighbormae-metrics"
        thread.start()
    }

    func update(_ change: (inout RunGauges) -> Void) {
        lock.lock()
        change(&gauges)
        lock.unlock()
    }

    private func serve() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var buffer = [UInt8](repeating: 0, count: 2048)
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            let request = count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : ""
            let response: String
            if request.hasPrefix("GET /metrics ") || request.hasPrefix("GET /metrics?") {
                lock.lock()
                let body = gauges.exposition(now: Double(DispatchTime.now().uptimeNanoseconds) / 1e9)
                lock.unlock()
                response = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
            } else {
                response = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"
            }
            _ = Array(response.utf8).withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            close(client)
        }
    }
}
