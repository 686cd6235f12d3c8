import ArgumentParser

/// `neighbormae`: the user-facing command. Parses and validates options, wires the library up, and maps
/// errors to exit codes; no logic of its own (SYSTEM.md §8).
@main
struct NeighborMAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neighbormae",
        abstract: "Self-supervised NeighborMAE pretraining on Earth-observation rasters.",
        subcommands: [TrainCommand.self, CoordinatorCommand.self, WorkerCommand.self, InspectCheckpointCommand.self,
                      ProbeCommand.self, ExportCommand.self, KeygenCommand.self])
}
