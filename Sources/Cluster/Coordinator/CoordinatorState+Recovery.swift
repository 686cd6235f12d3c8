import Comm
import Wire

// MARK: - A restarted coordinator: continue from the live workers' agreed state (SYSTEM.md §5)

extension CoordinatorState {
    /// Ends the gathering: if the surviving workers that hold the most advanced state (at least the
    /// checkpoint's step) agree on its SHA-256, the run continues from it and they keep their state;
    /// otherwise (no survivors, or disagreement) from the checkpoint. Everyone else gets the state from
    /// a donor at the first step boundary.
    mutating func finishRecovery(now: Millis, _ out: inout [CoordinatorDirective]) {
        let base = nextStep
        let holders = members.values.filter {
            $0.heldStateOfThisRun && $0.heldStep >= base && $0.heldStateSHA256.count == 32
        }
        var adopted: (step: Int, hash: [UInt8])?
        if let top = holders.map(\.heldStep).max() {
            let hashes = Set(holders.filter { $0.heldStep == top }.map(\.heldStateSHA256))
            if hashes.count == 1 {
                adopted = (top, hashes.first!)
            } else {
                out.append(.log("[coordinator] the workers holding step \(top) disagree on its state (\(hashes.count) "
                                + "different SHA-256s); continuing from the checkpoint instead"))
            }
        }
        var source = checkpointStateHash == nil && base == 0 ? "the seeded initial state"
            : "the checkpoint of step \(base)"
        var keepers: [UInt32] = []
        if let adopted {
            keepers = members.values.filter { $0.heldStep == adopted.step && $0.heldStateSHA256 == adopted.hash }
                .map(\.id).sorted()
            nextStep = adopted.step
            if checkpointStateHash != adopted.hash { checkpointStateHash = nil }
            source = "the state of step \(adopted.step) held by workers \(keepers)"
        }
        phase = .idle
        out.append(.continuing(fromStep: nextStep, source: source))
        out.append(.log("[coordinator] continuing from \(source)"))
        for id in members.keys.sorted() {
            members[id]?.status = keepers.contains(id) ? .active : .waiting
            welcome(id, keepsState: keepers.contains(id), &out)
        }
        if !keepers.isEmpty { newEpoch(reason: "restart: workers \(keepers) keep the state of step \(nextStep)", &out) }
    }
}
