import Foundation

/// Loads the next batch on a background OS thread while the caller trains on the current one.
///
/// `plan(step)` gives the sample positions of a step (e.g. a worker's shards); `next()` returns
/// the batch of step `firstStep`, `firstStep + 1`, ... in order. One batch is in flight at a time.
/// Uses a Foundation `Thread` (an OS thread), never Swift concurrency.
public final class BatchPrefetcher: @unchecked Sendable {
    private let loader: BatchLoader
    private let plan: @Sendable (Int) -> [Int]
    private let condition = NSCondition()
    private var ready: Result<PairBatch, EODataError>?
    private var requestedStep: Int?
    private var stopping = false
    private var nextStep: Int
    private var thread: Thread?
    private var finished = false

    public init(loader: BatchLoader, firstStep: Int = 0, plan: @escaping @Sendable (Int) -> [Int]) {
        self.loader = loader
        self.plan = plan
        nextStep = firstStep
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "eodata-prefetch"
        self.thread = thread
        requestedStep = firstStep
        thread.start()
    }

    deinit {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    /// The next step's batch (blocks until it is loaded), and starts loading the one after.
    public func next() throws(EODataError) -> PairBatch {
        condition.lock()
        while ready == nil { condition.wait() }
        let result = ready!
        ready = nil
        nextStep += 1
        requestedStep = nextStep
        condition.broadcast()
        condition.unlock()
        return try result.get()
    }

    private func run() {
        condition.lock()
        while true {
            while requestedStep == nil && !stopping { condition.wait() }
            if stopping { break }
            let step = requestedStep!
            requestedStep = nil
            condition.unlock()
            let result: Result<PairBatch, EODataError>
            do throws(EODataError) {
                result = .success(try loader.load(positions: plan(step)))
            } catch {
                result = .failure(error)
            }
            condition.lock()
            ready = result
            condition.broadcast()
        }
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}
