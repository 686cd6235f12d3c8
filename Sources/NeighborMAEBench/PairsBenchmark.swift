import ArgumentParser

struct PairsBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pairs")
    func run() throws {}
}
