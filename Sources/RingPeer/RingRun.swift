import TensorCore
import Comm
import Foundation

import Wire

// MARK: - One rank of a ring over ZeroMQ PUSH/PULL

/// Runs `arguments.iterations` all-reduces of `count` known values and checks every result exactly.
/// Returns the process exit code.
func runRank(_ arguments: PeerArguments) -> Int32 {
    // libzmq allocates every received chunk (1 MiB by default); keep glibc from returning those pages to the
    // kernel and faulting them back in (zeroed) for every message: that was ~10 % of a rank's time.
    keepFreedMemory()
    let log: @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    let runID = RunID(high: 0x2196, low: 0x6)
    do {
        let context = try ZMQContext()
        defer { context.terminate() }
        var transportOptions = TransportOptions(expectedRunID: runID,
                                                security: arguments.insecureLoopback ? .insecureLoopback : .none,
                                                log: log)
        transportOptions.typicalMessageBytes = arguments.chunkBytes
        transportOptions.highWaterMarkBytes = max(16 * arguments.chunkBytes, 16 << 20)
        transportOptions.heartbeat = (.milliseconds(200), .milliseconds(1000))
        transportOptions.linger = .milliseconds(200)
        var next: Transport?, previous: Transport?
        if arguments.size > 1 {
            let ownEndpoint = arguments.endpoints[arguments.rank]
            let nextEndpoint = arguments.endpoints[(arguments.rank + 1) % arguments.size]
            let chunk = RingOptions(runID: runID, chunkBytes: arguments.chunkBytes).largestChunkPayloadBytes
            let spin = arguments.spinMicroseconds.map { Duration.microseconds($0) }
                ?? SharedMemoryTransport.spin(ranksOnHost: arguments.size)
            previous = try OneWayLink.receiver(at: ownEndpoint, context: context, options: transportOptions,
                                               largestPayload: chunk, slots: arguments.slots, spin: spin).transport
            let push = try OneWayLink.sender(to: nextEndpoint, context: context, options: transportOptions, spin: spin)
            next = arguments.dieAfterChunks.map { chunks in
                var remaining = chunks
                return TripwireTransport(push, trips: { _, _ in remaining -= 1; return remaining <= 0 }) {
                    FileHandle.standardError.write(Data("[ring] dying now (SIGKILL)\n".utf8))
                    kill(getpid(), SIGKILL)
                }
            } ?? push
        }
        defer { next?.close(); previous?.close() }
        return try withExtendedLifetime((next, previous)) {
            try PeerWorkload(arguments: arguments, next: next, previous: previous, runID: runID, log: log).run()
        }
    } catch {
        log("[ring] rank \(arguments.rank): setup failed: \(error)")
        return 2
    }
}

/// glibc `mallopt(M_MMAP_THRESHOLD = -3, 256 MiB)` and `mallopt(M_TRIM_THRESHOLD = -1, 1 GiB)`, looked up
/// with dlsym because <malloc.h> is not part of the Glibc module.
private func keepFreedMemory() {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
    _ = mallopt(-3, 256 << 20)
    _ = mallopt(-1, 1 << 30)
}

/// The buffers and the loop of one rank.
struct PeerWorkload {
    let arguments: PeerArguments
    let next: Transport?
    let previous: Transport?
    let runID: RunID
    let log: @Sendable (String) -> Void

    func run() throws -> Int32 {
        let a = arguments, n = a.count
        // Startup barrier: processes start at different times, so the first tiny collective may wait long.
        let barrier = RingAllReduce(rank: a.rank, size: a.size, next: next, previous: previous,
                                    options: RingOptions(runID: runID, timeout: .seconds(60), log: log))
        var token: [Float] = [1]
        try token.withUnsafeMutableBufferPointer { try barrier.allReduce($0, step: 0) }
        let ring = RingAllReduce(rank: a.rank, size: a.size, next: next, previous: previous,
                                 options: RingOptions(runID: runID, chunkBytes: a.chunkBytes,
                                                      timeout: .milliseconds(a.timeoutMs), zeroCopy: a.zeroCopy,
                                                      log: log))
        // Gradient-sized values (at most about 2.4e-4; real gradients: docs/BENCHMARKS.md "Fixed-point scale"),
        // integers times 2^-24, so every partial sum is exact in float32 too and the result can be checked.
        let unit = Float(sign: .plus, exponent: -24, significand: 1)
        let input = (0..<n).map { Float(a.rank * 1000 + $0 % 997) * unit }
        var values = input
        let accumulator = FixedPointAccumulator(count: n)
        // Exact mode starts where a worker that computed one shard is after backward: its float gradient,
        // reduced in place (`allReduceExact` of floats, converting as it adds). exact-accumulator starts where
        // a worker of several shards is: the accumulator ShardGradients filled shard by shard while it computed
        // (integers and their wire image), so the collective is timed from there; exact-convert also times
        // one shard's float -> fixed conversion into the accumulator.
        var times: [Double] = []
        var beforeTimed = RingCounters()   // the ring's phase times before the first timed collective
        let started = ContinuousClock.now
        let total = a.warmups + a.iterations
        for iteration in 0..<total {
            // Untimed: the buffers as training leaves them right before the collective, just written (float
            // and exact mode: the gradient backward produced; exact-accumulator: the last shard's add into the
            // accumulator, read from the gradient buffer the collective then writes its result to, as
            // ShardGradients does).
            _ = values.withUnsafeMutableBufferPointer { v in
                input.withUnsafeBufferPointer { v.update(fromContentsOf: $0) }
            }
            if a.mode == "exact-accumulator" {
                accumulator.reset()
                try values.withUnsafeBufferPointer { try accumulator.add($0) }
            }
            // Untimed barrier, as the MPI peer's MPI_Barrier: no rank's timed collective includes waiting for
            // a neighbour still restoring its buffers.
            try token.withUnsafeMutableBufferPointer { try barrier.allReduce($0, step: UInt64(iteration + 1)) }
            if iteration == a.warmups { beforeTimed = ring.counters }
            let t0 = ContinuousClock.now
            do throws(CollectiveFailed) {
                switch a.mode {
                case "float":
                    try values.withUnsafeMutableBufferPointer { b throws(CollectiveFailed) in
                        try ring.allReduce(b, step: UInt64(iteration + 1)) }
                case "exact":
                    try values.withUnsafeMutableBufferPointer { b throws(CollectiveFailed) in
                        try ring.allReduceExact(b, step: UInt64(iteration + 1)) }
                case "exact-accumulator":   // the collective leaves the accumulator unchanged: no restore needed
                    try values.withUnsafeMutableBufferPointer { out throws(CollectiveFailed) in
                        try ring.allReduceExact(accumulator, into: out, step: UInt64(iteration + 1))
                    }
                default:
                    try exactIteration(ring, accumulator: accumulator, input: input, into: &values,
                                       step: UInt64(iteration + 1))
                }
            } catch {
                let elapsed = ContinuousClock.now - started
                print("COLLECTIVE_FAILED rank=\(a.rank) iteration=\(iteration) elapsed_s=\(seconds(elapsed)) "
                      + "reason=\(error.reason)")
                fflush(nil)
                return 3
            }
            if iteration >= a.warmups { times.append(seconds(ContinuousClock.now - t0)) }
            // Checking costs CPU the other ranks' timed collectives share: in bench mode only the last one.
            if a.bench && iteration + 1 < total { continue }
            let size = a.size
            let expected = { (i: Int) in Float(1000 * size * (size - 1) / 2 + size * (i % 997)) * unit }
            if let bad = values.indices.first(where: { values[$0] != expected($0) }) {
                print("WRONG_SUM rank=\(a.rank) iteration=\(iteration) index=\(bad) value=\(values[bad])")
                return 4
            }
        }
        report(times, counters: ring.counters, since: beforeTimed)
        return 0
    }

    /// exact-convert: float -> fixed (one shard), ring, float result, all timed.
    private func exactIteration(_ ring: RingAllReduce, accumulator: FixedPointAccumulator, input: [Float],
                                into values: inout [Float], step: UInt64) throws(CollectiveFailed) {
        accumulator.reset()
        do {
            try input.withUnsafeBufferPointer { try accumulator.add($0) }
        } catch {
            preconditionFailure("RingPeer: known inputs are in range: \(error)")
        }
        try values.withUnsafeMutableBufferPointer { out throws(CollectiveFailed) in
            try ring.allReduceExact(accumulator, into: out, step: step)
        }
    }

    private func report(_ times: [Double], counters: RingCounters, since earlier: RingCounters) {
        let sorted = times.sorted()
        let median = sorted[sorted.count / 2]
        let bytes = Double(arguments.count * 4)
        let algbw = bytes / median / 1e9
        let busbw = algbw * 2 * Double(arguments.size - 1) / Double(max(arguments.size, 1))
        print(String(format: "RESULT rank=%d size=%d mode=%@ count=%d iterations=%d median_ms=%.3f min_ms=%.3f "
                     + "max_ms=%.3f algbw_GBps=%.3f busbw_GBps=%.3f chunks_sent=%d stale=%d mismatched=%d",
                     arguments.rank, arguments.size, arguments.mode, arguments.count, times.count, median * 1e3,
                     sorted.first! * 1e3, sorted.last! * 1e3, algbw, busbw, counters.chunksSent,
                     counters.staleDropped, counters.mismatchedDropped))
        if arguments.bench {
            print("TIMES_MS " + times.map { String(format: "%.3f", $0 * 1e3) }.joined(separator: ","))
        }
        // Where the time went: mean µs per timed collective, by phase and kind of work (RingPhaseTimes).
        let perCollective = { (d: Duration) in String(format: "%.0f", seconds(d) * 1e6 / Double(max(times.count, 1))) }
        let phases = [("reduce_scatter", RingPhase.reduceScatter), ("all_gather", .allGather)].map { name, phase in
            let t = counters[time: phase].since(earlier[time: phase])
            return "\(name): send_us=\(perCollective(t.sending)) receive_us=\(perCollective(t.receiving)) "
                + "absorb_us=\(perCollective(t.absorbing)) prepare_us=\(perCollective(t.preparing))"
        }
        print("PHASES rank=\(arguments.rank) " + phases.joined(separator: "; "))
        fflush(nil)
    }
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}
