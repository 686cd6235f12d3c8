import Cluster
import Comm
import Testing
import Wire

/// The coordinator's state machine driven by scripted events (no sockets, no sleeps).
@Suite("Coordinator state machine")
struct CoordinatorStateTests {
    @Test("the first step waits for startWorkers, then shards follow measured speed")
    func start() throws {
        var h = CoordinatorHarness(startWorkers: 2)
        let welcome = h.join("a", speed: 1)
        guard case let .welcome(w)? = welcome.sent(to: "a").first else { Issue.record("no Welcome"); return }
        #expect(w.workerID == 1 && w.runID == CoordinatorHarness.run && w.nextStep == 0)
        #expect(welcome.plans.isEmpty, "one of two start workers: no plan yet")
        let out = h.join("b", speed: 3)
        #expect(out.plans.count == 2)
        let byPeer = Dictionary(uniqueKeysWithValues: out.plans.map { ($0.peer.description, $0.plan) })
        #expect(byPeer["a"]?.virtualShards == [0] && byPeer["b"]?.virtualShards == [1, 2, 3])
        #expect(byPeer["a"]?.ringOrder == [1, 2] && byPeer["a"]?.ringEndpoints == ["ipc://ring-a", "ipc://ring-b"])
        #expect(byPeer["a"]?.step == 0 && byPeer["a"]?.samplesConsumed == 0)
    }

    @Test("all reports ok: Commit to every member, a summary, and the next plan")
    func commit() throws {
        var h = CoordinatorHarness(startWorkers: 2)
        h.join("a")
        h.join("b")
        #expect(h.done("a", step: 0, loss: 3, weight: 1).isEmpty)
        let out = h.done("b", step: 0, loss: 1, weight: 3)
        #expect(out.sent(to: "a").contains(.commit(Commit(step: 0))))
        #expect(out.sent(to: "b").contains(.commit(Commit(step: 0))))
        #expect(out.committed.map(\.step) == [0] && out.committed.first?.loss == 1.0)
        #expect(out.plans.map(\.plan.step) == [1, 1])
        #expect(h.state.nextStep == 1)
    }

    @Test("a failed report aborts the attempt everywhere and re-plans the same step in a new epoch")
    func abortAndReplan() throws {
        var h = CoordinatorHarness(startWorkers: 2)
        h.join("a")
        h.join("b")
        let epoch = h.state.epoch
        let out = h.done("b", step: 0, ok: false)
        #expect(Set(out.aborts.map(\.peer.description)) == ["a", "b"])
        #expect(h.state.epoch == epoch + 1)
        #expect(out.plans.count == 2 && out.plans.allSatisfy { $0.plan.step == 0 })
        // A report of the aborted attempt arrives late: stale, ignored.
        let late = h.done("a", step: 0, epoch: epoch)
        #expect(late.committed.isEmpty && late.plans.isEmpty)
        h.done("a", step: 0)
        let commit = h.done("b", step: 0)
        #expect(commit.committed.first?.attempts == 2)
    }

    @Test("a silent worker is evicted after the heartbeat timeout and the survivor covers every shard")
    func evictSilentWorker() throws {
        var h = CoordinatorHarness(startWorkers: 2) { $0.heartbeatTimeout = 3000 }
        h.join("a", at: 0)
        h.join("b")
        h.heartbeat("a", committed: 0, at: 2500)
        #expect(h.send(.tick, at: 2900).aborts.isEmpty)
        let out = h.send(.tick, at: 3100)
        #expect(h.id("b") == nil && h.id("a") == 1)
        #expect(out.aborts.map(\.peer.description) == ["a"])
        #expect(out.plans.count == 1 && out.plans[0].plan.virtualShards == [0, 1, 2, 3])
        #expect(out.plans[0].plan.ringOrder == [1])
        // The evicted worker wakes up and talks: it is told to join again.
        let stranger = h.done("b", step: 0)
        #expect(stranger.sent(to: "b").contains {
            if case .error(let e) = $0 { e.code == ErrorCode.notAMember } else { false }
        })
    }

    @Test("a mid-run joiner gets the state from a donor at the next boundary and enters once hashes match")
    func elasticJoin() throws {
        var h = CoordinatorHarness()
        h.join("a")
        let planStep1 = h.done("a", step: 0)
        #expect(planStep1.plans.map(\.plan.step) == [1])
        let joined = h.join("c", speed: 1)
        #expect(joined.plans.isEmpty, "the running step is not disturbed")
        let boundary = h.done("a", step: 1)
        guard case let .stateTransferRequest(request)? = boundary.sent(to: "a").last else {
            Issue.record("no StateTransferRequest to the donor: \(boundary)"); return
        }
        #expect(request.step == 2 && request.joinerWorkerID == 2 && request.joinerEndpoint == "ipc://ring-c")
        #expect(boundary.plans.isEmpty, "no step while the state transfer runs")
        let hash = [UInt8](repeating: 9, count: 32)
        #expect(h.heartbeat("c", committed: 2, hash: hash).plans.isEmpty)
        let entered = h.message("a", .stateDone(StateDone(step: 2, totalBytes: 100, sha256: hash)))
        #expect(entered.plans.count == 2 && entered.plans.allSatisfy { $0.plan.ringOrder == [1, 2] })
    }

    @Test("a joiner whose state hash differs from the donor's is removed; the run goes on")
    func joinHashMismatch() throws {
        var h = CoordinatorHarness()
        h.join("a")
        h.done("a", step: 0)
        h.join("c")
        h.done("a", step: 1)
        h.message("a", .stateDone(StateDone(step: 2, totalBytes: 100, sha256: [UInt8](repeating: 1, count: 32))))
        let out = h.heartbeat("c", committed: 2, hash: [UInt8](repeating: 2, count: 32))
        #expect(h.id("c") == nil)
        #expect(out.plans.map(\.plan.ringOrder) == [[1]])
    }

    @Test("joins with another build or dataset are refused with a reason")
    func refusedJoin() throws {
        var h = CoordinatorHarness()
        let out = h.join("x", build: "other-build")
        #expect(h.state.members.isEmpty)
        #expect(out.sent(to: "x").contains {
            if case .error(let e) = $0 { e.code == ErrorCode.buildMismatch && e.text.contains("hint") } else { false }
        })
    }

    @Test("checkpoints pause the schedule until written, and the run finishes after the final one")
    func checkpointsAndFinish() throws {
        var h = CoordinatorHarness(steps: 3, checkpointEvery: 2)
        h.join("a")
        h.done("a", step: 0)
        let due = h.done("a", step: 1)
        #expect(due.contains(.checkpoint(step: 2, source: 1, peer: PeerID("a"))))
        #expect(due.plans.isEmpty)
        #expect(h.send(.checkpointWritten(step: 2, error: nil)).plans.map(\.plan.step) == [2])
        let last = h.done("a", step: 2)
        #expect(last.contains(.checkpoint(step: 3, source: 1, peer: PeerID("a"))))
        let end = h.send(.checkpointWritten(step: 3, error: nil))
        #expect(end.contains(.finished))
        #expect(end.sent(to: "a").contains(.leave(Leave(workerID: 1, reason: "run finished"))))
    }
}
