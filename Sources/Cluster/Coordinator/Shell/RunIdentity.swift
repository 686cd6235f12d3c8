import Foundation
import Wire

// MARK: - The run id, kept in the run directory

/// A run keeps its id across coordinator restarts (`<run>/run-id`), so workers that outlive a coordinator
/// go on talking to its successor without being refused as another run's.
enum RunIdentity {
    /// The run's id: read back when continuing a run, a new random one for a fresh run.
    static func loadOrCreate(in runDirectory: URL, fresh: Bool) throws -> RunID {
        let file = runDirectory.appendingPathComponent("run-id")
        if !fresh, let text = try? String(contentsOf: file, encoding: .utf8) {
            let hex = text.trimmingCharacters(in: .whitespacesAndNewlines)
            var bytes: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex, let end = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex),
                  let byte = UInt8(hex[index..<end], radix: 16) {
                bytes.append(byte)
                index = end
            }
            guard let id = RunID(bytes: bytes), bytes.count * 2 == hex.count else {
                throw CoordinatorSetupError("\(file.path) does not hold a run id (32 hex digits); "
                                            + "hint: delete it to start a new run")
            }
            return id
        }
        var generator = SystemRandomNumberGenerator()
        let id = RunID(high: generator.next(), low: generator.next())
        try Data((id.description + "\n").utf8).write(to: file, options: .atomic)
        return id
    }
}

/// A coordinator that cannot start (bad run directory, unusable checkpoint, ...), with a hint in the text.
public struct CoordinatorSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension CoordinatorSetupError {
    /// A fresh run must not mix with a run whose checkpoints are in the same directory.
    static func occupied(_ runDirectory: URL) -> CoordinatorSetupError {
        CoordinatorSetupError("\(runDirectory.path) already holds checkpoints of a run; hint: continue it with "
                              + "--resume, or start a new run in another --run-dir")
    }
}
