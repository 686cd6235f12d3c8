import Foundation
import Testing

// MARK: - A cluster spread over the test bed's hosts: tcp, CURVE on both planes, optional latency

/// The coordinator on `nm-coord` and worker `wN` on `nm-wN`, over tcp with CURVE everywhere. With
/// `latency`, every listener (the coordinator's control port, each ring receiver) binds on 127.0.0.1 and
/// a `LatencyProxy` on the host's address forwards to it, holding each chunk `delay ± jitter` ms (the
/// stand-in for `tc netem`, which this kernel lacks); every connection then crosses one delaying proxy.
final class NetCluster {
    let cluster: TestCluster
    let keys: ClusterKeys
    let latency: (delayMs: Int, jitterMs: Int)?
    static let controlPort = 5555
    static let ringPort = 6000
    /// The coordinator's hidden port behind its proxy.
    static let hiddenControlPort = 6555

    init(steps: Int, checkpointEvery: Int = 4, workerHosts: Int, latency: (delayMs: Int, jitterMs: Int)? = nil)
        throws {
        try Testbed.up(workerHosts: workerHosts)
        cluster = try TestCluster(steps: steps, checkpointEvery: checkpointEvery)
        keys = try ClusterKeys(in: cluster.root, workers: (1...workerHosts).map { "w\($0)" })
        self.latency = latency
    }

    deinit { Testbed.down() }

    var control: String { "tcp://\(Testbed.coordinatorAddress):\(Self.controlPort)" }

    @discardableResult
    func startCoordinator(resume: Bool = false, startWorkers: Int, extra: [String] = []) throws -> ClusterProcess {
        var bind = control
        if latency != nil {
            bind = "tcp://127.0.0.1:\(Self.hiddenControlPort)"
            try proxy(namespace: Testbed.coordinatorNamespace,
                      listen: "\(Testbed.coordinatorAddress):\(Self.controlPort)",
                      forward: "127.0.0.1:\(Self.hiddenControlPort)")
        }
        var arguments = ["coordinator", "--config", cluster.configFile.path, "--run-dir", cluster.runDirectory.path,
                         "--bind", bind, "--key", keys.key("coordinator"), "--allow", keys.folder + "/workers.allow",
                         "--start-workers", String(startWorkers),
                         "--heartbeat-timeout-ms", String(TestCluster.heartbeatTimeoutMs)]
        if resume { arguments.append("--resume") }
        return try cluster.start(resume ? "coordinator-2" : "coordinator", arguments + extra,
                                 namespace: Testbed.coordinatorNamespace)
    }

    /// Starts worker `w<host>` on host `nm-w<host>`.
    @discardableResult
    func startWorker(host: Int, extra: [String] = []) throws -> ClusterProcess {
        let name = "w\(host)", namespace = Testbed.namespace(ofWorkerHost: host)
        let address = Testbed.address(ofWorkerHost: host)
        var data = ["--data-bind", "tcp://\(address):\(Self.ringPort)"]
        if latency != nil {
            data = ["--data-bind", "tcp://127.0.0.1:\(Self.ringPort)", "--advertise", address]
            try proxy(namespace: namespace, listen: "\(address):\(Self.ringPort)",
                      forward: "127.0.0.1:\(Self.ringPort)")
        }
        let arguments = ["worker", "--coordinator", control, "--key", keys.key(name),
                         "--coordinator-key", keys.coordinatorPublic, "--ring-allow", keys.folder + "/ring.allow",
                         "--sources"] + cluster.config.sources
            + ["--threads", "1", "--name", name, "--ring-timeout-ms", String(TestCluster.ringTimeoutMs),
               "--coordinator-timeout-ms", String(TestCluster.coordinatorTimeoutMs)] + data
        return try cluster.start(name, arguments + extra, namespace: namespace)
    }

    private func proxy(namespace: String, listen: String, forward: String) throws {
        guard let latency else { return }
        try cluster.start("proxy-\(namespace)-\(listen)", ["--listen", listen, "--forward", forward,
                                                           "--delay-ms", String(latency.delayMs),
                                                           "--jitter-ms", String(latency.jitterMs)],
                          namespace: namespace, executable: ClusterProcess.tool("LatencyProxy"))
    }

    /// Drops `percent` % of every host's outgoing packets (nftables in each namespace; 0 removes the rule).
    func loss(percent: Int, workerHosts: Int) {
        for namespace in [Testbed.coordinatorNamespace] + (1...workerHosts).map(Testbed.namespace(ofWorkerHost:)) {
            Testbed.run(["loss", namespace, String(percent)])
        }
    }

    /// Cuts a host off (its only link down) or heals it.
    func link(_ namespace: String, up: Bool) {
        Testbed.run(["link", namespace, up ? "up" : "down"])
    }

    /// Waits for the coordinator to exit 0 and checks the final state and the metrics; true when all held.
    func finishedExactly(_ coordinator: ClusterProcess, reference: String, limit: Duration = .seconds(180)) throws
        -> Bool {
        let status = coordinator.waitForExit(limit: limit)
        #expect(status == 0, "coordinator exit \(status.map(String.init) ?? "killed")\n\(cluster.logs)")
        guard status == 0 else { return false }
        let final = try cluster.stateHash(step: cluster.config.steps)
        #expect(final == reference, "final state differs from the 1-process run\n\(cluster.logs)")
        let records = cluster.metrics
        expectEverySampleOnce(records, steps: cluster.config.steps, shards: cluster.config.virtualShards,
                              batchSize: cluster.config.batchSize)
        return final == reference && records.count == cluster.config.steps
    }

    /// Milliseconds from `start` until `coordinator`'s log contains `text` (nil after `limit`).
    func detection(of text: String, in process: ClusterProcess, since start: ContinuousClock.Instant,
                   limit: Duration = .seconds(60)) -> Duration? {
        while ContinuousClock.now - start < limit {
            if process.log.contains(text) { return ContinuousClock.now - start }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return nil
    }
}

/// One row of the reliability report (printed with a `[reliability]` prefix; scripts/reliability collects them).
func reportRow(_ scenario: String, trials: Int, passed: Int, detection: String, slowdown: String) {
    print("[reliability] | \(scenario) | \(trials) | \(passed) | \(detection) | \(slowdown) |")
}

func milliseconds(_ duration: Duration) -> Int {
    Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
}
