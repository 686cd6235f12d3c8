import Comm
import Foundation
import Testing

// MARK: - The whole cluster over tcp with CURVE on both planes

@Suite("ClusterAcceptance over CURVE", .serialized)
struct CurveClusterTests {
    @Test("11. tcp + CURVE: a joiner gets the state encrypted; a stranger's key is refused; bit-identical result")
    func curveEverywhere() throws {
        let steps = ClusterAcceptanceTests.steps
        let cluster = try TestCluster(steps: steps, checkpointEvery: ClusterAcceptanceTests.checkpointEvery)
        let keys = try ClusterKeys(in: cluster.root, workers: ["w1", "w2", "w3"])
        let coordinator = try cluster.startCoordinator(startWorkers: 2, extra: [
            "--bind", "tcp://127.0.0.1:0", "--key", keys.key("coordinator"), "--allow", keys.folder + "/workers.allow"])
        var endpoint = ""
        try cluster.waitUntil("the coordinator listens") {
            endpoint = coordinator.log.firstMatch(of: /at (tcp:\/\/127\.0\.0\.1:\d+)/).map { String($0.1) } ?? ""
            return !endpoint.isEmpty
        }
        @discardableResult
        func worker(_ name: String) throws -> ClusterProcess {
            try cluster.startWorker(name, extra: [
                "--coordinator", endpoint, "--data-bind", "tcp://127.0.0.1:0", "--key", keys.key(name),
                "--coordinator-key", keys.coordinatorPublic, "--ring-allow", keys.folder + "/ring.allow"])
        }
        try worker("w1")
        try worker("w2")
        let stranger = try worker("stranger")
        try cluster.waitUntil("step 6 committed") { cluster.committedSteps >= 6 }
        try worker("w3")
        let status = coordinator.waitForExit(limit: .seconds(120))
        #expect(status == 0, "\(cluster.logs)")
        #expect(try cluster.stateHash(step: steps) == (try ClusterAcceptanceTests.reference), "\(cluster.logs)")
        expectEverySampleOnce(cluster.metrics, steps: steps, shards: cluster.config.virtualShards,
                              batchSize: cluster.config.batchSize)
        #expect(coordinator.log.contains("streams the state of step"), "w3 joined through a CURVE transfer")
        #expect(cluster.logs.contains("ring receiver at tcp://127.0.0.1:"), "the ring ran over tcp")
        #expect(cluster.metrics.last?["workers"] as? [Int] == [1, 2, 3], "the stranger never became a member")
        #expect(coordinator.log.contains("refused"), "the ZAP handler logged the stranger's key\n\(coordinator.log)")
        #expect(!stranger.log.contains("welcomed"), "\(stranger.log)")
        stranger.send(SIGKILL)
    }
}
