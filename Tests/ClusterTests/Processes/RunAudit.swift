import Foundation
import Testing

// MARK: - Acceptance 7: every sample of every committed step consumed exactly once

/// Checks `metrics.jsonl` of a finished run: steps 0..<steps each recorded exactly once, each step's shard
/// assignment covering the V virtual shards exactly once, and the data cursor at (step + 1) · B.
func expectEverySampleOnce(_ records: [[String: Any]], steps: Int, shards: Int, batchSize: Int,
                           sourceLocation: SourceLocation = #_sourceLocation) {
    let bySteps = Dictionary(grouping: records) { $0["step"] as? Int ?? -1 }
    #expect(bySteps.keys.sorted() == Array(0..<steps), "steps recorded: \(bySteps.keys.sorted())",
            sourceLocation: sourceLocation)
    for step in 0..<steps {
        let list = bySteps[step] ?? []
        #expect(list.count == 1, "step \(step) recorded \(list.count) times", sourceLocation: sourceLocation)
        guard let record = list.first else { continue }
        let assignment = record["shards"] as? [String: [Int]] ?? [:]
        let covered = assignment.values.flatMap { $0 }.sorted()
        #expect(covered == Array(0..<shards), "step \(step) covered shards \(covered)", sourceLocation: sourceLocation)
        #expect(record["samples"] as? Int == (step + 1) * batchSize, "step \(step) cursor \(record["samples"] ?? "-")",
                sourceLocation: sourceLocation)
    }
}
