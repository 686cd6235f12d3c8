import ArgumentParser

/// `neighbormae-bench`: performance figures of NeighborMAE-Swift's parts, each timed beside a peer in
/// the same run where one exists. One subcommand per file.
@main
struct NeighborMAEBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neighbormae-bench",
        abstract: "Benchmarks of NeighborMAE-Swift components against peer libraries.",
        subcommands: [AttentionBenchmark.self, GEMMBenchmark.self, PairsBenchmark.self, StepBenchmark.self])
}
