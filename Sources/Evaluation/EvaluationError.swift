import Foundation

/// Why an evaluation tool (probe, export) cannot run, with what to do about it.
public enum EvaluationError: Error, CustomStringConvertible, Equatable {
    case noCheckpoint(String)
    case statisticsUnavailable(sources: [String], reason: String)
    case statisticsFile(path: String, reason: String)
    case labels(String)
    case tooFewTiles(String)

    public var description: String {
        switch self {
        case .noCheckpoint(let path):
            "no checkpoint under \(path); hint: give a run directory, its checkpoints/ folder or a step-NNNNNNN folder"
        case .statisticsUnavailable(let sources, let reason):
            "cannot re-estimate the run's channel statistics from \(sources.joined(separator: ", ")): \(reason); "
                + "hint: run from the directory the run was started in, or pass --stats channel-stats.json"
        case .statisticsFile(let path, let reason):
            "\(path) is not a readable channel-stats.json: \(reason)"
        case .labels(let detail):
            "labels: \(detail)"
        case .tooFewTiles(let detail):
            "too few labelled tiles: \(detail)"
        }
    }
}
