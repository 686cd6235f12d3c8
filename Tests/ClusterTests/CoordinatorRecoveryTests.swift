import Cluster
import Comm
import Testing
import Wire

/// A restarted coordinator (SYSTEM.md §5) and a stopping one, driven by scripted events.
@Suite("Coordinator restart and stop")
struct CoordinatorRecoveryTests {
    static let checkpointHash = [UInt8](repeating: 4, count: 32)
    static let stateHash = [UInt8](repeating: 7, count: 32)
    static let otherHash = [UInt8](repeating: 9, count: 32)

    static func restarted(startWorkers: Int = 2) -> CoordinatorHarness {
        CoordinatorHarness(steps: 10, startWorkers: startWorkers, resume: (4, checkpointHash)) {
            $0.recoveryWindow = 3000
        }
    }

    @Test("survivors agreeing on a newer state keep it: no reload, no transfer, the next plan is their step")
    func survivorsAgree() {
        var h = Self.restarted()
        #expect(h.join("a", holding: (7, Self.stateHash), at: 100).welcomes.isEmpty, "Welcome waits for the decision")
        let out = h.join("b", holding: (7, Self.stateHash), at: 200)
        #expect(out.contains(.continuing(fromStep: 7, source: "the state of step 7 held by workers [1, 2]")))
        #expect(out.welcomes.count == 2)
        #expect(out.welcomes.allSatisfy { $0.welcome.nextStep == 7 && $0.welcome.donorWorkerID == $0.welcome.workerID })
        #expect(!out.contains(.reloadCheckpoint) && out.plans.map(\.plan.step) == [7, 7])
        #expect(h.state.nextStep == 7)
    }

    @Test("the most advanced survivor wins; a lagging one gets its state from it at the boundary")
    func laggardGetsTransfer() {
        var h = Self.restarted()
        h.join("a", holding: (6, Self.otherHash), at: 100)
        let out = h.join("b", holding: (7, Self.stateHash), at: 200)
        let byPeer = Dictionary(uniqueKeysWithValues: out.welcomes.map { ($0.peer.description, $0.welcome) })
        #expect(byPeer["b"]?.donorWorkerID == h.id("b") && byPeer["a"]?.donorWorkerID != h.id("a"))
        let request = out.sent(to: "b").compactMap { if case let .stateTransferRequest(r) = $0 { r } else { nil } }
        #expect(request.first?.step == 7 && request.first?.joinerWorkerID == h.id("a"))
    }

    @Test("survivors that disagree, or none at all, mean the checkpoint: the coordinator donates its state")
    func fallBackToCheckpoint() {
        var h = Self.restarted()
        h.join("a", holding: (7, Self.stateHash), at: 100)
        let out = h.join("b", holding: (7, Self.otherHash), at: 200)
        #expect(out.contains(.continuing(fromStep: 4, source: "the checkpoint of step 4")))
        #expect(out.welcomes.allSatisfy { $0.welcome.nextStep == 4 && $0.welcome.donorWorkerID != $0.welcome.workerID })
        #expect(out.contains { if case .streamCheckpointState(4, _, _, _) = $0 { true } else { false } })

        var empty = Self.restarted(startWorkers: 1)
        #expect(empty.send(.tick, at: 0).isEmpty)
        #expect(empty.send(.tick, at: 3001).contains(.continuing(fromStep: 4, source: "the checkpoint of step 4")))
        let late = empty.join("c", holding: (9, Self.stateHash), at: 3100)
        #expect(late.welcomes.first?.welcome.nextStep == 4, "after the decision a Join is an ordinary join")
    }

    @Test("SIGTERM aborts the step in flight, checkpoints the committed state, and ends the run")
    func terminate() {
        var h = CoordinatorHarness(steps: 10, startWorkers: 2, checkpointEvery: 0)
        h.join("a")
        h.join("b")
        h.done("a", step: 0)
        h.done("b", step: 0)
        let out = h.send(.terminate)
        #expect(Set(out.aborts.map(\.peer.description)) == ["a", "b"] && out.aborts.allSatisfy { $0.abort.step == 1 })
        #expect(out.contains { if case .checkpoint(1, _, _) = $0 { true } else { false } })
        #expect(out.plans.isEmpty)
        let end = h.send(.checkpointWritten(step: 1, error: nil))
        #expect(end.contains(.finished))
        #expect(end.sent(to: "a").contains(.leave(Leave(workerID: 1, reason: "run stopped at step 1"))))
    }

    @Test("after every ring member was evicted, workers returning with this run's state of the step keep it")
    func cutOffWorkersComeBack() {
        var h = CoordinatorHarness(steps: 10, startWorkers: 2) { $0.heartbeatTimeout = 1000 }
        h.join("a", at: 0)
        h.join("b", at: 0)
        for step in 0..<3 {
            h.done("a", step: step, at: 10)
            h.done("b", step: step, at: 10)
        }
        h.send(.tick, at: 2000)   // the coordinator was cut off: everyone timed out
        #expect(h.state.ring.isEmpty && h.state.members.isEmpty && h.state.nextStep == 3)
        h.join("a", holding: (3, Self.stateHash), at: 2100)
        #expect(h.state.ring == [h.id("a")!], "a keeps its state; no reload")
        #expect(!h.log.contains(.reloadCheckpoint))
        let welcomes = h.log.welcomes.filter { $0.peer == PeerID("a") }
        #expect(welcomes.last?.welcome.donorWorkerID == h.id("a") && welcomes.last?.welcome.nextStep == 3)
        h.join("b", holding: (3, Self.stateHash), at: 2200)   // arrives while a runs step 3 alone
        let out = h.done("a", step: 3, at: 2300)
        let request = out.sent(to: "a").compactMap { if case let .stateTransferRequest(r) = $0 { r } else { nil } }
        #expect(request.first?.joinerWorkerID == h.id("b"), "the others get the state from the keeper")

        var foreign = CoordinatorHarness(steps: 10, startWorkers: 1) { $0.heartbeatTimeout = 1000 }
        foreign.join("a", at: 0)
        foreign.done("a", step: 0, at: 10)
        foreign.send(.tick, at: 2000)
        let out2 = foreign.join("x", holding: (1, Self.stateHash), runID: .zero, at: 2100)
        #expect(out2.contains(.reloadCheckpoint), "a state of unknown origin is not trusted")
    }

    @Test("Joins queued during a partition arrive together: a waiting worker keeps its id and gets its Welcome again")
    func duplicateJoins() {
        var h = CoordinatorHarness(steps: 10, startWorkers: 1)
        h.join("a", at: 0)                    // a runs step 0 alone
        h.join("b", at: 10)
        let id = h.id("b")
        let again = h.join("b", at: 11)
        #expect(h.id("b") == id && h.state.members.count == 2)
        #expect(again.welcomes.map(\.welcome.workerID) == [id!])
        #expect(!again.contains { if case let .log(line) = $0 { line.contains("removed") } else { false } })
        h.done("a", step: 0, at: 20)          // boundary: b gets the state; a Join of a ring member re-registers
        let rejoin = h.join("a", at: 30)
        #expect(h.id("a") != 1 && rejoin.contains { if case let .log(line) = $0 { line.contains("joined again") }
                                                    else { false } })
    }
}
