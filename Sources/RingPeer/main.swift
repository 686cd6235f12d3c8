import Foundation

// RingPeer: one rank of a ring all-reduce over ZeroMQ (multi-process tests and the ring benchmark),
// plus `gradient-stats`, which measures real gradient magnitudes for the fixed-point scale choice.

func main() -> Int32 {
    let args = CommandLine.arguments.dropFirst()
    do {
        switch args.first {
        case "run": return runRank(try PeerArguments(args.dropFirst()))
        case "gradient-stats": return try gradientStats(args.dropFirst())
        case "kernels": return kernelBench(args.dropFirst())
        default: throw UsageError("expected a subcommand")
        }
    } catch {
        FileHandle.standardError.write(Data("RingPeer: \(error)\n\(PeerArguments.usage)\n".utf8))
        return 2
    }
}

exit(main())
