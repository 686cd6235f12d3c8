import Comm
import Foundation
import Wire

// MARK: - N ranks as N threads over the in-process transport

/// Holds a non-Sendable value while it is handed to exactly one thread.
final class Handoff<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

/// Ring of `size` in-process transports: rank r is "ring-r" and sends to "ring-(r+1)".
/// All transports exist before any rank starts, so no send races a registration.
func makeRingTransports(size: Int, runID: RunID, capacity: Int = 8) -> (InProcessNetwork, [InProcessTransport]) {
    let network = InProcessNetwork()
    let transports = (0..<size).map { r in
        InProcessTransport(name: "ring-\(r)", network: network, defaultPeer: "ring-\((r + 1) % size)",
                           expectedRunID: runID, capacity: capacity)
    }
    return (network, transports)
}

/// Runs `body(rank, ring)` on `size` threads at once and returns each rank's result.
/// `sendVia` may wrap a rank's transport for its sends (a fault-injecting decorator), `receiveVia` for its
/// receives.
func runRanks<R: Sendable>(size: Int, runID: RunID, options: RingOptions, capacity: Int = 8,
                           prepare: (Int, InProcessTransport) -> Void = { _, _ in },
                           sendVia: @escaping @Sendable (Int, Transport) -> Transport = { $1 },
                           receiveVia: @escaping @Sendable (Int, Transport) -> Transport = { $1 },
                           _ body: @escaping @Sendable (Int, RingAllReduce) throws -> R) -> [Result<R, any Error>] {
    let (network, transports) = makeRingTransports(size: size, runID: runID, capacity: capacity)
    for (r, t) in transports.enumerated() { prepare(r, t) }
    let results = Handoff([Result<R, any Error>?](repeating: nil, count: size))
    let lock = NSLock()
    let done = DispatchGroup()
    for r in 0..<size {
        let transport = Handoff(transports[r])
        done.enter()
        let thread = Thread {
            let ring = RingAllReduce(rank: r, size: size, next: sendVia(r, transport.value),
                                     previous: receiveVia(r, transport.value), options: options)
            let result = Result { try body(r, ring) }
            lock.lock()
            results.value[r] = result
            lock.unlock()
            done.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    done.wait()
    withExtendedLifetime(network) {}
    return results.value.map { $0! }
}

/// rank r's input element i for the exactly-known-sum tests: small integers, so float sums are exact.
func knownInput(rank: Int, index: Int) -> Int { rank * 1000 + index % 997 }

/// The exact sum over `size` ranks of `knownInput(rank:index:)`.
func knownSum(size: Int, index: Int) -> Int { 1000 * size * (size - 1) / 2 + size * (index % 997) }
