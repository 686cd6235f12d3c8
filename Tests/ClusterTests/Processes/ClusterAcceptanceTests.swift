import Foundation
import Testing
import Training

// MARK: - Issue 7's acceptance tests: real processes, real sockets, real files

/// Each test starts `neighbormae coordinator` and `neighbormae worker` processes, injects a fault, lets the
/// run finish and compares the final state with the single-process trainer's bit for bit. Run one alone
/// with `swift test -c release --skip-build --filter ClusterAcceptance/<name>`. The tests with a
/// `dataPlane` argument run with ipc ring receivers and with shared-memory mailboxes;
/// `NMAE_TEST_DATA_PLANE=shm` runs all of them over mailboxes.
@Suite("ClusterAcceptance", .serialized)
struct ClusterAcceptanceTests {
    static let steps = 16
    static let checkpointEvery = 4
    static var reference: String { get throws { try References.hash(steps: steps) } }

    /// Waits for the coordinator to finish and checks the outcome every test shares.
    func expectFinishedExactly(_ cluster: TestCluster, _ coordinator: ClusterProcess,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
        let status = coordinator.waitForExit(limit: .seconds(120))
        #expect(status == 0, "coordinator exit \(status.map(String.init) ?? "killed")\n\(cluster.logs)",
                sourceLocation: sourceLocation)
        let final = try cluster.stateHash(step: Self.steps)
        #expect(final == (try Self.reference), "final state differs from the 1-process run\n\(cluster.logs)",
                sourceLocation: sourceLocation)
        expectEverySampleOnce(cluster.metrics, steps: Self.steps, shards: cluster.config.virtualShards,
                              batchSize: cluster.config.batchSize, sourceLocation: sourceLocation)
    }

    @Test("1. a worker SIGKILLed mid-all-reduce and two joining later: bit-identical to one process",
          arguments: ["ipc", "shm"])
    func exactnessUnderChurn(dataPlane: String) throws {
        let cluster = try TestCluster(steps: Self.steps, checkpointEvery: Self.checkpointEvery, dataPlane: dataPlane)
        let coordinator = try cluster.startCoordinator(startWorkers: 3)
        // w1 is a slow host (250 ms more per step): it leaves the joiners time to start on a loaded machine,
        // and it must end up with fewer shards than the others (assignment follows measured speed).
        try cluster.startWorker("w1", extra: ["--pace-ms", "250"])
        let victim = try cluster.startWorker("w2", extra: ["--fault", "5:reduce"])
        try cluster.startWorker("w3")
        #expect(victim.waitForExit(limit: .seconds(60)) == -SIGKILL, "the victim died by its fault")
        try cluster.startWorker("w4")
        try cluster.startWorker("w5")
        try expectFinishedExactly(cluster, coordinator)
        let records = cluster.metrics
        let retried = records.first { $0["step"] as? Int == 5 }?["attempts"] as? Int ?? 0
        #expect(retried >= 2, "step 5 was aborted and re-planned")
        let last = records.last ?? [:]
        let lastWorkers = last["workers"] as? [Int] ?? []
        #expect(lastWorkers.count == 4, "both joiners contributed at the end: \(lastWorkers)")
        let ids = ["w1", "w3", "w4", "w5"].map {
            cluster.workerID($0, coordinator: coordinator).map(String.init) ?? "?"
        }
        let joinSteps = ids[2...].map { id in
            records.first { ($0["join_ms"] as? [String: Int])?[id] != nil }?["step"] as? Int ?? -1
        }
        #expect(joinSteps.allSatisfy { $0 >= 5 && $0 < Self.steps }, "the joiners entered mid-run: \(joinSteps)")
        let shards = last["shards"] as? [String: [Int]] ?? [:]
        #expect((shards[ids[0]]?.count ?? 9) < (shards[ids[1]]?.count ?? 0),
                "the slow worker w1 gets fewer shards than w3: \(shards), ids \(ids)")
        #expect(coordinator.log.contains("streams the state of step"), "joiners got the state from a donor")
    }

    @Test("2. everything SIGKILLed after a checkpoint, resumed with a different worker count")
    func resumeWithOtherWorkerCount() throws {
        let cluster = try TestCluster(steps: Self.steps, checkpointEvery: Self.checkpointEvery)
        let first = try cluster.startCoordinator(startWorkers: 2)
        let workers = [try cluster.startWorker("a1"), try cluster.startWorker("a2")]
        try cluster.waitUntil("checkpoint 8 written") { cluster.checkpointExists(step: 8) }
        try cluster.waitUntil("step 9 committed") { cluster.committedSteps >= 10 }
        for process in workers + [first] { process.send(SIGKILL) }
        for process in workers + [first] { _ = process.waitForExit(limit: .seconds(10)) }
        let fresh = try cluster.start("fresh", ["coordinator", "--config", cluster.configFile.path,
                                                "--run-dir", cluster.runDirectory.path, "--bind", cluster.control])
        #expect(fresh.waitForExit(limit: .seconds(30)) != 0 && fresh.log.contains("already holds checkpoints"),
                "a fresh run is refused over another run's checkpoints: \(fresh.log)")
        let coordinator = try cluster.startCoordinator(resume: true, startWorkers: 3)
        for name in ["b1", "b2", "b3"] { try cluster.startWorker(name) }
        try expectFinishedExactly(cluster, coordinator)
        #expect(coordinator.log.contains("resuming from step-0000008"), "\(coordinator.log)")
        #expect(cluster.metrics.last?["workers"] as? [Int] == [1, 2, 3])
    }

    @Test("3. coordinator killed between checkpoint files: the previous checkpoint loads, the run finishes")
    func crashDuringCheckpointWrite() throws {
        let cluster = try TestCluster(steps: Self.steps, checkpointEvery: Self.checkpointEvery)
        let first = try cluster.startCoordinator(startWorkers: 2, extra: ["--fault-checkpoint", "8:afterModel"])
        try cluster.startWorker("w1")
        try cluster.startWorker("w2")
        #expect(first.waitForExit(limit: .seconds(60)) == -SIGKILL,
                "the coordinator died in the write\n\(cluster.logs)")
        #expect(!cluster.checkpointExists(step: 8), "no half-written checkpoint is visible")
        let coordinator = try cluster.startCoordinator(resume: true, startWorkers: 2,
                                                       extra: ["--recovery-window-ms", "20000"])
        try expectFinishedExactly(cluster, coordinator)
        #expect(coordinator.log.contains("resuming from step-0000004"), "the half-written step 8 is not loaded")
        // The workers outlived the crash holding step 8: the successor continues from their agreed state
        // (no step is recomputed) and writes the checkpoint of step 8 that its predecessor could not.
        #expect(coordinator.log.contains("continuing from the state of step 8 held by workers"), "\(coordinator.log)")
        #expect(cluster.checkpointExists(step: 8))
    }

    @Test("4. a corrupted newest checkpoint is detected and reported; the previous one is used")
    func corruptedCheckpoint() throws {
        let cluster = try TestCluster(steps: Self.steps, checkpointEvery: Self.checkpointEvery)
        let first = try cluster.startCoordinator()
        let worker = try cluster.startWorker("w1", extra: ["--fault", "10:plan"])
        #expect(worker.waitForExit(limit: .seconds(60)) == -SIGKILL)
        #expect(cluster.checkpointExists(step: 8))
        first.send(SIGKILL)
        _ = first.waitForExit(limit: .seconds(10))
        let model = cluster.runDirectory.appendingPathComponent("checkpoints/step-0000008/model.safetensors")
        var bytes = try Data(contentsOf: model)
        bytes[bytes.count / 2] ^= 0x20
        try bytes.write(to: model)
        let coordinator = try cluster.startCoordinator(resume: true)
        try cluster.startWorker("w2")
        try expectFinishedExactly(cluster, coordinator)
        #expect(coordinator.log.contains("step-0000008"), "the corruption is reported")
        #expect(coordinator.log.contains("SHA-256") || coordinator.log.contains("sha256"), "\(coordinator.log)")
        #expect(coordinator.log.contains("resuming from step-0000004"), "\(coordinator.log)")
    }

    @Test("5. a SIGSTOPped worker is evicted within the heartbeat timeout; the run finishes",
          arguments: ["ipc", "shm"])
    func stoppedWorkerIsEvicted(dataPlane: String) throws {
        let cluster = try TestCluster(steps: Self.steps, checkpointEvery: Self.checkpointEvery, dataPlane: dataPlane)
        let coordinator = try cluster.startCoordinator(startWorkers: 3)
        try cluster.startWorker("w1")
        try cluster.startWorker("w2")
        let stopped = try cluster.startWorker("w3")
        try cluster.waitUntil("step 4 committed") { cluster.committedSteps >= 4 }
        stopped.send(SIGSTOP)
        let stoppedAt = ContinuousClock.now
        try cluster.waitUntil("the stopped worker is evicted", timeout: .seconds(30)) {
            coordinator.log.contains("heartbeat timeout")
        }
        let detection = ContinuousClock.now - stoppedAt
        try expectFinishedExactly(cluster, coordinator)
        // Timeout plus one heartbeat interval and the loop's polling, on a loaded 2-core machine.
        #expect(detection < .milliseconds(TestCluster.heartbeatTimeoutMs + 2000), "detected after \(detection)")
        print("[acceptance 5] SIGSTOP detected after \(detection) (timeout \(TestCluster.heartbeatTimeoutMs) ms)")
        stopped.send(SIGKILL)
    }

    @Test("6. coordinator SIGKILLed and restarted mid-run: no lost or repeated step")
    func coordinatorRestart() throws {
        let cluster = try TestCluster(steps: Self.steps, checkpointEvery: Self.checkpointEvery)
        let first = try cluster.startCoordinator(startWorkers: 2)
        try cluster.startWorker("w1")
        try cluster.startWorker("w2")
        try cluster.waitUntil("step 6 committed") { cluster.committedSteps >= 7 }
        first.send(SIGKILL)
        _ = first.waitForExit(limit: .seconds(10))
        let coordinator = try cluster.startCoordinator(resume: true, startWorkers: 2,
                                                       extra: ["--recovery-window-ms", "20000"])
        try expectFinishedExactly(cluster, coordinator)
        #expect(coordinator.log.contains("continuing from the state of step"), "\(coordinator.log)")
        #expect(!coordinator.log.contains("streams the state"), "the survivors kept their state: no transfer")
    }

    @Test("8. with no surviving worker, a restarted coordinator donates the checkpointed state itself",
          arguments: ["ipc", "shm"])
    func restartWithoutSurvivors(dataPlane: String) throws {
        let cluster = try TestCluster(steps: Self.steps, checkpointEvery: Self.checkpointEvery, dataPlane: dataPlane)
        let first = try cluster.startCoordinator()
        let worker = try cluster.startWorker("w1", extra: ["--fault", "6:report"])
        try cluster.waitUntil("the worker died") { !worker.isRunning }
        first.send(SIGKILL)
        _ = first.waitForExit(limit: .seconds(10))
        let coordinator = try cluster.startCoordinator(resume: true, startWorkers: 2)
        try cluster.startWorker("w2")
        try cluster.startWorker("w3")
        try expectFinishedExactly(cluster, coordinator)
        #expect(coordinator.log.contains("continuing from the checkpoint of step 4"), "\(coordinator.log)")
        #expect(coordinator.log.contains("streamed the checkpointed state of step 4"), "\(coordinator.log)")
    }

    @Test("9. a worker's SIGTERM is a graceful leave: it deregisters at once and the run goes on")
    func gracefulLeave() throws {
        let cluster = try TestCluster(steps: Self.steps, checkpointEvery: Self.checkpointEvery)
        let coordinator = try cluster.startCoordinator(startWorkers: 2, extra: ["--metrics", "127.0.0.1:0"])
        try cluster.startWorker("w1", extra: ["--pace-ms", "150"])   // time to read the metrics after the leave
        let leaving = try cluster.startWorker("w2")
        try cluster.waitUntil("step 4 committed") { cluster.committedSteps >= 4 }
        let endpoint = coordinator.log.firstMatch(of: /metrics at http:\/\/([0-9.]+):(\d+)\/metrics/)
        let before = try endpoint.map { try httpGet(host: String($0.1), port: Int($0.2)!, path: "/metrics") } ?? ""
        #expect(before.contains("neighbormae_workers_alive 2.0") && before.contains("neighbormae_joins_total 2.0"),
                "metrics while two workers train:\n\(before)")
        leaving.send(SIGTERM)
        #expect(leaving.waitForExit(limit: .seconds(15)) == 0, "\(leaving.log)")
        let after = try endpoint.map { try httpGet(host: String($0.1), port: Int($0.2)!, path: "/metrics") } ?? ""
        #expect(after.contains("neighbormae_workers_alive 1.0") && after.contains("neighbormae_leaves_total 1.0")
                && after.contains("neighbormae_evictions_total 0.0"), "metrics after the leave:\n\(after)")
        #expect(try endpoint.map { try httpGet(host: String($0.1), port: Int($0.2)!, path: "/nope") } == "",
                "other paths are 404 (no body)")
        try expectFinishedExactly(cluster, coordinator)
        #expect(coordinator.log.contains("left: terminated (SIGTERM)"), "\(coordinator.log)")
        #expect(!coordinator.log.contains("heartbeat timeout"), "deregistered, not timed out")
    }

    @Test("10. neighbormae train: SIGTERM writes a final checkpoint; --resume with one worker finishes exactly")
    func launcherStopAndResume() throws {
        let cluster = try TestCluster(steps: Self.steps, checkpointEvery: 0, pictureEvery: 1)
        let arguments = ["train", "--config", cluster.configFile.path, "--run-dir", cluster.runDirectory.path,
                         "--threads", "1", "--metrics", "off"]
        let train = try ClusterProcess("train", arguments: arguments + ["--workers", "2"],
                                       logURL: cluster.root.appendingPathComponent("train.log"))
        try cluster.waitUntil("step 5 committed") { cluster.committedSteps >= 6 }
        train.send(SIGTERM)
        #expect(train.waitForExit(limit: .seconds(60)) == 0, "\(train.log)")
        let stoppedAt = cluster.committedSteps
        #expect(stoppedAt < Self.steps && cluster.checkpointExists(step: stoppedAt), "final checkpoint at \(stoppedAt)")
        #expect(train.log.contains("run stopped at step \(stoppedAt)"), "\(train.log)")
        let resumed = try ClusterProcess("resumed", arguments: arguments + ["--workers", "1", "--resume"],
                                         logURL: cluster.root.appendingPathComponent("resumed.log"))
        #expect(resumed.waitForExit(limit: .seconds(120)) == 0, "\(resumed.log)")
        #expect(try cluster.stateHash(step: Self.steps) == (try Self.reference), "\(resumed.log)")
        expectEverySampleOnce(cluster.metrics, steps: Self.steps, shards: cluster.config.virtualShards,
                              batchSize: cluster.config.batchSize)
        let logFolder = cluster.runDirectory.appendingPathComponent("logs")
        let logs = try FileManager.default.contentsOfDirectory(atPath: logFolder.path)
        #expect(Set(logs).isSuperset(of: ["coordinator.log", "worker-1.log", "worker-2.log"]), "\(logs)")
        // Pictures: a reconstruction of every checkpoint (the stop's and the final one) and both loss curves.
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47]
        for name in ["recon/step-\(String(format: "%07d", stoppedAt)).png", "recon/step-0000016.png", "loss.png"] {
            let bytes = (try? Data(contentsOf: cluster.runDirectory.appendingPathComponent(name))) ?? Data()
            #expect(Array(bytes.prefix(4)) == png, "\(name) is a PNG")
        }
        let weighted = cluster.metrics.compactMap { $0["weighted_loss"] as? Double }
        #expect(weighted.count == Self.steps && weighted.allSatisfy { $0.isFinite && $0 > 0 })
    }
}
