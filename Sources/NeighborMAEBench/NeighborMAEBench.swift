import ArgumentParser

/// `neighbormae-bench`: micro-benchmarks that time our kernels beside a peer in the same run.
/// Each subcommand lives in its own file.
@main
struct NeighborMAEBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neighbormae-bench",
        abstract: "Benchmarks of the NeighborMAE tensor core against peer libraries.",
        subcommands: [GEMMBenchmark.self])
}
