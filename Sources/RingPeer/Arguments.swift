import Foundation

// MARK: - Command line of one ring rank

/// `RingPeer run ...` options (see `usage`).
struct PeerArguments {
    var rank = 0
    var size = 1
    /// Every rank's receiving endpoint, in rank order; rank r binds its own and connects to r+1's. ZeroMQ
    /// (`ipc://`, `tcp://`) or shared memory (`shm://NAME`, all ranks on this host).
    var endpoints: [String] = []
    /// Shared-memory endpoints: slots of the receiving mailbox (chunks in flight).
    var slots = 4
    /// Shared-memory endpoints: how long a wait polls before it sleeps, in µs (nil: by ranks per core).
    var spinMicroseconds: Int?
    var count = 0
    var mode = "exact"
    var iterations = 1
    var chunkBytes = 1 << 20
    var timeoutMs = 5000
    /// Kill this process with SIGKILL right after sending this many chunks (failure tests).
    var dieAfterChunks: Int?
    /// Allow plaintext tcp on loopback (`TransportSecurity.insecureLoopback`).
    var insecureLoopback = false
    var zeroCopy = true
    /// Print per-iteration timings (benchmark); otherwise only the result line.
    var bench = false
    var warmups = 0

    static let usage = """
        usage: RingPeer run --rank R --size N --endpoints E0,E1,... --count C
                            [--mode float|exact|exact-accumulator|exact-convert] [--iterations K] [--warmups W]
                            [--chunk-bytes B] [--timeout-ms T] [--die-after-chunks n] [--insecure-loopback]
                            [--copy] [--bench] [--slots S] [--spin-us U]
               RingPeer gradient-stats [--source path.tif] [--steps S] [--threads T]
        Exit codes: 0 exact sums on every iteration, 3 CollectiveFailed, 4 wrong sum, 2 usage/setup error.
        """

    init(_ args: ArraySlice<String>) throws {
        var i = args.startIndex
        func value() throws -> String {
            i += 1
            guard i < args.endIndex else { throw UsageError("\(args[i - 1]) needs a value") }
            return args[i]
        }
        func number() throws -> Int {
            let text = try value()
            guard let n = Int(text) else { throw UsageError("\(args[i - 1]) expects an integer, got \(text)") }
            return n
        }
        while i < args.endIndex {
            switch args[i] {
            case "--rank": rank = try number()
            case "--size": size = try number()
            case "--endpoints": endpoints = try value().split(separator: ",").map(String.init)
            case "--count": count = try number()
            case "--mode": mode = try value()
            case "--iterations": iterations = try number()
            case "--warmups": warmups = try number()
            case "--chunk-bytes": chunkBytes = try number()
            case "--timeout-ms": timeoutMs = try number()
            case "--die-after-chunks": dieAfterChunks = try number()
            case "--insecure-loopback": insecureLoopback = true
            case "--copy": zeroCopy = false
            case "--bench": bench = true
            case "--slots": slots = try number()
            case "--spin-us": spinMicroseconds = try number()
            default: throw UsageError("unknown option \(args[i])")
            }
            i += 1
        }
        guard size >= 1, (0..<size).contains(rank), endpoints.count == size || size == 1 else {
            throw UsageError("need 0 <= rank < size and one endpoint per rank")
        }
        guard ["float", "exact", "exact-accumulator", "exact-convert"].contains(mode), count >= 0, iterations >= 1,
              chunkBytes > 0, timeoutMs > 0, (2...64).contains(slots), (spinMicroseconds ?? 0) >= 0 else {
            throw UsageError("bad mode, count, iterations, chunk size, timeout or slot count")
        }
    }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
