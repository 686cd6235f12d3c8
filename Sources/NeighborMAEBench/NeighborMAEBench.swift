import ArgumentParser

/// `neighbormae-bench`: performance figures of the parts of NeighborMAE-Swift, one subcommand each.
@main
struct NeighborMAEBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neighbormae-bench",
        abstract: "Benchmarks of NeighborMAE-Swift components.",
        subcommands: [PairsBenchmark.self])
}
