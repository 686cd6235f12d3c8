import Cluster
import Comm
import TensorCore
import Testing
import Wire

/// Random schedules of joins, deaths, failures and slow heartbeats against simulated honest workers.
/// Whatever happens, steps commit in order and exactly once, every attempt's plan covers each virtual
/// shard exactly once, and the run finishes.
@Suite("Coordinator state machine, simulated")
struct CoordinatorSimulationTests {
    @Test("invariants hold under random membership churn (20 schedules)")
    func churn() throws {
        var midRunJoins = 0, aborts = 0
        for seed in 0..<UInt64(20) {
            let churn = simulate(seed: seed)
            midRunJoins += churn.midRunJoins
            aborts += churn.aborts
        }
        print("[simulation] 20 schedules: \(midRunJoins) mid-run joins, \(aborts) aborted attempts")
        // The schedules really churned: members joined mid-run and attempts were aborted.
        #expect(midRunJoins >= 10 && aborts >= 10, "\(midRunJoins) mid-run joins, \(aborts) aborts")
    }

    /// One random schedule; returns how much membership churn it produced.
    func simulate(seed: UInt64) -> (midRunJoins: Int, aborts: Int) {
        var random = CounterRNG(seed: seed).stream(0, 0)
        var h = CoordinatorHarness(steps: 12, shards: 5, startWorkers: 2, checkpointEvery: 4) {
            $0.heartbeatTimeout = 3000
            $0.stepTimeout = 20_000
            $0.transferTimeout = 20_000
        }
        var alive: [String] = []
        var outstanding: [String: (step: Int, epoch: UInt64)] = [:]
        var committed: [Int] = []
        var joined = 0
        var finished = false

        func handle(_ out: [CoordinatorDirective], _ h: inout CoordinatorHarness) -> [CoordinatorEvent] {
            var followUps: [CoordinatorEvent] = []
            // Each attempt's plans cover every shard exactly once.
            let plans = out.plans
            if !plans.isEmpty {
                let shards = plans.flatMap(\.plan.virtualShards).sorted()
                #expect(shards == [0, 1, 2, 3, 4], "seed \(seed): plan of step \(plans[0].plan.step) covers \(shards)")
            }
            for directive in out {
                switch directive {
                case let .send(peer, .stepPlan(plan), epoch, _):
                    outstanding[peer.description] = (Int(plan.step), epoch)
                case let .send(peer, .abort, _, _):
                    outstanding[peer.description] = nil
                case let .send(donor, .stateTransferRequest(request), _, _):
                    // The donor streams; both sides report the same hash of the state at that step.
                    let hash = [UInt8](repeating: UInt8(truncatingIfNeeded: request.step), count: 32)
                    let joinerName = h.state.members[request.joinerWorkerID]?.peer.description
                    if alive.contains(donor.description) {
                        followUps.append(.message(from: donor, envelope: Envelope(type: .stateDone,
                                                                                  runID: CoordinatorHarness.run),
                                                  body: .stateDone(StateDone(step: request.step, totalBytes: 1,
                                                                             sha256: hash))))
                    }
                    if let joinerName, alive.contains(joinerName) {
                        followUps.append(.message(from: PeerID(joinerName), envelope: Envelope(
                            type: .heartbeat, runID: CoordinatorHarness.run), body: .heartbeat(Heartbeat(
                                workerID: request.joinerWorkerID, committedStep: request.step, unixMs: 0,
                                stateSHA256: hash))))
                    }
                case let .checkpoint(step, _, _):
                    followUps.append(.checkpointWritten(step: step, error: nil))
                case let .committed(summary):
                    committed.append(summary.step)
                case .finished:
                    finished = true
                default:
                    break
                }
            }
            return followUps
        }

        func deliver(_ event: CoordinatorEvent, _ h: inout CoordinatorHarness) {
            var queue = [event]
            while !queue.isEmpty {
                let out = h.send(queue.removeFirst())
                queue += handle(out, &h)
            }
        }

        for _ in 0..<4000 where !finished {
            let roll = random.nextInt(below: 100)
            if alive.count < 2 || roll < 6 {
                joined += 1
                let name = "w\(joined)"
                alive.append(name)
                deliver(.message(from: PeerID(name), envelope: Envelope(type: .join, runID: .zero), body: .join(Join(
                    workerName: name, buildFingerprint: CoordinatorHarness.build,
                    datasetFingerprint: CoordinatorHarness.dataset, threads: 1,
                    samplesPerSecond: Double(1 + random.nextInt(below: 4)), dataEndpoint: "ipc://\(name)"))), &h)
            } else if roll < 10 && alive.count > 2 {
                // Kill a worker, but never the last live replica of the state (that case reloads a
                // checkpoint and redoes steps; it has its own test).
                let index = random.nextInt(below: alive.count)
                let isActive = { (name: String) in h.id(name).map { h.state.members[$0]?.status == .active } ?? false }
                if !isActive(alive[index]) || alive.filter(isActive).count > 1 {
                    outstanding[alive.remove(at: index)] = nil
                }
            } else if roll < 30 {
                h.now += 1000
                for name in alive {
                    if let id = h.id(name) {
                        deliver(.message(from: PeerID(name), envelope: Envelope(type: .heartbeat, runID: .zero),
                                         body: .heartbeat(Heartbeat(workerID: id, committedStep: 0, unixMs: 0))), &h)
                    }
                }
                deliver(.tick, &h)
            } else if case let busy = alive.filter({ outstanding[$0] != nil }), !busy.isEmpty,
                      case let name = busy[random.nextInt(below: busy.count)], let work = outstanding[name] {
                outstanding[name] = nil
                let ok = random.nextInt(below: 100) >= 5
                deliver(.message(from: PeerID(name), envelope: Envelope(type: .stepDone, runID: .zero,
                                                                      membershipEpoch: work.epoch,
                                                                      step: UInt64(work.step)),
                                 body: .stepDone(StepDone(step: UInt64(work.step), ok: ok, lossSum: 1,
                                                          lossWeightSum: 1, maskedPixelCount: 1, shardsDone: 1,
                                                          computeMs: 5, reduceMs: 1, error: ok ? "" : "x"))), &h)
            }
        }
        #expect(finished, "seed \(seed): run did not finish (next step \(h.state.nextStep), phase \(h.state.phase))")
        #expect(committed == Array(0..<12), "seed \(seed): committed \(committed)")
        return (h.state.history.filter { $0.reason.hasPrefix("joined") && $0.fromStep > 0 }.count,
                h.state.history.filter { $0.reason.hasPrefix("abort") }.count)
    }
}
