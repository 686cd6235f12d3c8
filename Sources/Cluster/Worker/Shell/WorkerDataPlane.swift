import Comm
import Foundation
import Synchronization
import Training
import Wire

// MARK: - A worker's compute thread: gradients, the ring, state streaming

/// What a job on the compute thread reports back to the worker's control loop.
enum DataPlaneResult: Sendable {
    /// The replica for the welcomed run is ready (or could not be built).
    case prepared(error: String?)
    case stepFinished(step: Int, epoch: UInt64, outcome: StepOutcome)
    /// A donor's state arrived and matched its SHA-256; or the transfer failed.
    case stateReceived(step: Int, sha256: [UInt8])
    case stateRefused(step: Int, reason: String)
    /// This worker streamed its state to a joiner (`done` goes to the coordinator too), or failed to.
    case stateSent(StateDone)
    case stateSendFailed(step: Int, reason: String)
}

/// Everything a worker does outside its control loop, confined to one `SerialThread`: it owns the ring
/// receiver (PULL, or a shared-memory mailbox for a `shm://` data endpoint; `OneWayLink`), the connection
/// to the next rank (re-made when the ring changes), and computes on the replica. Jobs run in order; each
/// posts one `DataPlaneResult`.
///
/// The replica is shared with the control thread in one way only: the control loop applies a committed
/// update or uploads a checkpoint while no job touches the parameters (the state machine guarantees the
/// step's job has finished; jobs of aborted attempts only write gradients).
final class WorkerDataPlane: @unchecked Sendable {
    let thread = SerialThread(name: "neighbormae-compute")
    let results = Mailbox<DataPlaneResult>()
    let stateWaits = StateWaitGeneration()
    let zmqContext: ZMQContext
    private let options: WorkerOptions
    /// The ring receiver (at the data endpoint); used on the compute thread only.
    private(set) var receiver: Transport?
    private var next: (endpoint: String, transport: Transport)?
    /// The replica of the welcomed run; set on the compute thread, read by both (hence the lock).
    var replica: Replica? {
        replicaLock.lock()
        defer { replicaLock.unlock() }
        return storedReplica
    }
    private var storedReplica: Replica?
    private let replicaLock = NSLock()
    /// The newest epoch of a plan handed to `runStep` (written by the control thread).
    private let newestPlanEpoch = Mutex<UInt64>(0)
    /// Advertised ring endpoint (set once the receiver is bound).
    private(set) var endpoint = ""

    init(context: ZMQContext, options: WorkerOptions) {
        zmqContext = context
        self.options = options
    }

    /// Binds the ring receiver on the compute thread and returns the endpoint peers connect to.
    func bind() throws -> String {
        let bound = Mailbox<Result<String, TransportError>>()
        let done = DispatchSemaphore(value: 0)
        thread.submit { [self] in
            do throws(TransportError) {
                var settings = TransportOptions(expectedRunID: nil, security: options.dataSecurity.receiver,
                                                log: options.log)
                settings.heartbeat = nil   // ring neighbours are watched by chunk deadlines
                let (pull, address) = try OneWayLink.receiver(at: options.dataBind, context: zmqContext,
                                                              options: settings,
                                                              largestPayload: options.mailboxPayloadBytes)
                receiver = pull
                endpoint = Self.advertised(address, host: options.advertiseHost)
                bound.post(.success(endpoint))
            } catch {
                bound.post(.failure(error))
            }
            done.signal()
        }
        done.wait()
        return try bound.drain()[0].get()
    }

    /// A wildcard bind (`tcp://0.0.0.0:P`, `tcp://*:P`) is not an address others can reach.
    static func advertised(_ endpoint: String, host: String?) -> String {
        guard endpoint.hasPrefix("tcp://"), let host else { return endpoint }
        let rest = endpoint.dropFirst("tcp://".count)
        guard let colon = rest.lastIndex(of: ":") else { return endpoint }
        return "tcp://\(host)\(rest[colon...])"
    }

    /// The ring receiver's counters (safe to read from any thread).
    var receiverCounters: TransportCounters? { receiver?.counters }
    var dataSecurity: DataPlaneSecurity { options.dataSecurity }
    var fault: WorkerFault? { options.fault }
    var log: @Sendable (String) -> Void { options.log }

    // MARK: - Jobs

    /// Builds the replica of the welcomed run (data pipeline, model, seeded parameters).
    func prepare(_ config: TrainingConfig) {
        thread.submit { [self] in
            do {
                let built = try Replica(config: config)
                replicaLock.lock()
                storedReplica = built
                replicaLock.unlock()
                results.post(.prepared(error: nil))
            } catch {
                results.post(.prepared(error: "\(error)"))
            }
        }
    }

    /// Computes the plan's shards and all-reduces the gradient with the ring; the update is not applied.
    ///
    /// A plan whose epoch was superseded before its job started (the step was aborted and re-planned while
    /// this thread still ran an earlier attempt) is skipped: running it would only wait out the ring's
    /// deadline, and a worker that does so for every queued attempt never catches up with the ring.
    func runStep(_ plan: StepPlan, epoch: UInt64, workerID: UInt32, runID: RunID) {
        newestPlanEpoch.withLock { $0 = max($0, epoch) }
        thread.submit { [self] in
            let step = Int(plan.step)
            let outcome: StepOutcome
            let newest = newestPlanEpoch.withLock { $0 }
            if epoch < newest {
                outcome = .failed("the plan of epoch \(epoch) was superseded by epoch \(newest) before it started")
            } else {
                do {
                    outcome = try computeAndReduce(plan, epoch: epoch, workerID: workerID, runID: runID)
                } catch {
                    outcome = .failed("\(error)")
                }
            }
            results.post(.stepFinished(step: step, epoch: epoch, outcome: outcome))
        }
    }

    private func computeAndReduce(_ plan: StepPlan, epoch: UInt64, workerID: UInt32,
                                  runID: RunID) throws -> StepOutcome {
        guard let replica else { throw WorkerFailure("no replica: the run's data could not be opened") }
        let gradients = replica.gradients
        guard plan.exact == gradients.exact else {
            throw WorkerFailure("the plan's all-reduce mode (exact \(plan.exact)) differs from the run's config")
        }
        guard let rank = plan.ringOrder.firstIndex(of: workerID), plan.ringEndpoints.count == plan.ringOrder.count
        else { throw WorkerFailure("worker \(workerID) is not in the plan's ring \(plan.ringOrder)") }
        let step = Int(plan.step)
        options.fault?.check(step: step, phase: .plan)
        let start = ContinuousClock.now
        let losses = try gradients.compute(step: step, shards: plan.virtualShards.map(Int.init))
        if options.paceMs > 0 { Thread.sleep(forTimeInterval: Double(options.paceMs) / 1000) }
        let computed = ContinuousClock.now
        let size = plan.ringOrder.count
        if size == 1 {
            try gradients.readSum(step: step)
        } else {
            let nextRank = (rank + 1) % size
            let nextKey = plan.ringPublicKeys.isEmpty ? [] : plan.ringPublicKeys[nextRank]
            let ring = try ringTo(plan.ringEndpoints[nextRank], key: nextKey, rank: rank, size: size, step: step,
                                  epoch: epoch, chunkBytes: Int(plan.chunkBytes), runID: runID)
            do throws(CollectiveFailed) {
                if gradients.exact {
                    try replica.arena.gradients.withUnsafeMutableBufferPointer { g throws(CollectiveFailed) in
                        if gradients.singleContribution {   // one shard: its floats, converted where they are added
                            try ring.allReduceExact(g, step: UInt64(step))
                        } else {
                            try ring.allReduceExact(gradients.accumulator, into: g, step: UInt64(step))
                        }
                    }
                } else {
                    try replica.arena.gradients.withUnsafeMutableBufferPointer { g throws(CollectiveFailed) in
                        try ring.allReduce(g, step: UInt64(step))
                    }
                }
            } catch {
                closeNext()   // lent chunks may be outstanding; a fresh connection is made next time
                throw error
            }
        }
        options.fault?.check(step: step, phase: .report)
        return .reduced(lossSum: losses.plainSum, weightedLossSum: losses.weightedSum,
                        lossWeightSum: Double(losses.maskedPixels),
                        maskedPixels: UInt64(losses.maskedPixels), shards: UInt32(losses.shardCount),
                        computeMs: milliseconds(computed - start),
                        reduceMs: milliseconds(ContinuousClock.now - computed))
    }

    /// A ring over the receiver and a connection to `nextEndpoint` (kept while the neighbour stays).
    private func ringTo(_ nextEndpoint: String, key: [UInt8], rank: Int, size: Int, step: Int, epoch: UInt64,
                        chunkBytes: Int, runID: RunID) throws -> RingAllReduce {
        if next?.endpoint != nextEndpoint { closeNext() }
        if next == nil {
            let security = try options.dataSecurity.connection(to: key)
            var settings = TransportOptions(expectedRunID: runID, security: security, log: options.log)
            settings.heartbeat = nil
            var push = try OneWayLink.sender(to: nextEndpoint, context: zmqContext, options: settings)
            if let fault = options.fault, fault.phase == .reduce || fault.phase == .gather { push = fault.armed(push) }
            next = (nextEndpoint, push)
        }
        let ringOptions = RingOptions(runID: runID, membershipEpoch: epoch, chunkBytes: max(chunkBytes, 4),
                                      timeout: options.ringTimeout, log: options.log)
        return RingAllReduce(rank: rank, size: size, next: next!.transport, previous: receiver!, options: ringOptions)
    }

    /// Closes the ring sockets on the compute thread (after the jobs queued before), then ends the thread.
    func shutDown() {
        thread.submit { [self] in
            closeNext()
            receiver?.close()
        }
        thread.stop(timeout: 30)
    }

    private func closeNext() {
        next?.transport.close()
        next = nil
    }
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

/// A failure of the worker's own making (reported in StepDone, not thrown across the wire).
struct WorkerFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
