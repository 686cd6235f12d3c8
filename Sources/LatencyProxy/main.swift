import Foundation

// MARK: - LatencyProxy: a TCP forwarder that adds latency and jitter (fault-injection test tool)

// `tc netem` is missing from this kernel (notes/network-faults.md), so the reliability scenarios put this
// proxy in front of every listener instead: each chunk read on either side is held for delay ± jitter ms
// before it is written on, in order.
//
//   LatencyProxy --listen 10.231.0.1:5555 --forward 127.0.0.1:6555 --delay-ms 50 --jitter-ms 10

func parseAddress(_ text: String) -> sockaddr_in? {
    let parts = text.split(separator: ":")
    guard parts.count == 2, let port = UInt16(parts[1]) else { return nil }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    guard inet_pton(AF_INET, String(parts[0]), &address.sin_addr) == 1 else { return nil }
    return address
}

func withSockaddr<R>(_ address: sockaddr_in, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    var copy = address
    return withUnsafePointer(to: &copy) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("LatencyProxy: \(message)\n".utf8))
    exit(2)
}

var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst() else { fail("\(flag) needs a value") }
    options[flag] = value
}
guard let listen = options["--listen"].flatMap(parseAddress), let forward = options["--forward"].flatMap(parseAddress)
else { fail("usage: LatencyProxy --listen IP:PORT --forward IP:PORT [--delay-ms D] [--jitter-ms J]") }
let delayMs = Double(options["--delay-ms"] ?? "50") ?? 50
let jitterMs = Double(options["--jitter-ms"] ?? "0") ?? 0

signal(SIGPIPE, SIG_IGN)
let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
var yes: Int32 = 1
setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
guard withSockaddr(listen, { bind(listener, $0, $1) }) == 0, Glibc.listen(listener, 64) == 0 else {
    fail("cannot listen on \(options["--listen"]!): \(String(cString: strerror(errno)))")
}
FileHandle.standardOutput.write(Data(
    "LatencyProxy: \(options["--listen"]!) -> \(options["--forward"]!), \(delayMs) ± \(jitterMs) ms\n".utf8))
while true {
    let client = accept(listener, nil, nil)
    guard client >= 0 else { continue }
    let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard withSockaddr(forward, { connect(server, $0, $1) }) == 0 else {
        close(client)
        close(server)
        continue
    }
    for fd in [client, server] { setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(4)) }
    let remaining = ConnectionCount(2)
    let closeBoth: @Sendable () -> Void = { if remaining.decrement() == 0 { close(client); close(server) } }
    DelayLine(from: client, to: server, delayMs: delayMs, jitterMs: jitterMs).start(done: closeBoth)
    DelayLine(from: server, to: client, delayMs: delayMs, jitterMs: jitterMs).start(done: closeBoth)
}

/// A counter shared by a connection's two directions: the last to finish closes both sockets.
final class ConnectionCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count: Int
    init(_ count: Int) { self.count = count }
    func decrement() -> Int {
        lock.lock()
        defer { lock.unlock() }
        count -= 1
        return count
    }
}
