import Foundation

/// Loads the next batch on a background OS thread while the caller trains on the current one.
///
/// `plan(step)` gives the sample positions of a step (e.g. a worker's shards); `next()` returns
/// the batches of steps `firstStep`, `firstStep + 1`, ... in order. One batch is in flight at a
/// time. Uses a Foundation `Thread` (an OS thread), never Swift concurrency. The thread holds only
/// the shared state, so releasing the prefetcher stops and joins it.
public final class BatchPrefetcher {
    private let state: State

    public init(loader: BatchLoader, firstStep: Int = 0, plan: @escaping @Sendable (Int) -> [Int]) {
        state = State(loader: loader, plan: plan, firstStep: firstStep)
        let state = self.state
        let thread = Thread { state.run() }
        thread.name = "eodata-prefetch"
        thread.start()
    }

    deinit {
        state.stop()
    }

    /// The next step's batch (blocks until it is loaded), and starts loading the one after.
    public func next() throws(EODataError) -> PairBatch {
        try state.take().get()
    }

    /// Condition-variable handshake between `next()` and the loading thread.
    private final class State: @unchecked Sendable {
        let loader: BatchLoader
        let plan: @Sendable (Int) -> [Int]
        let condition = NSCondition()
        var requestedStep: Int?
        var ready: Result<PairBatch, EODataError>?
        var nextStep: Int
        var stopping = false
        var finished = false

        init(loader: BatchLoader, plan: @escaping @Sendable (Int) -> [Int], firstStep: Int) {
            self.loader = loader
            self.plan = plan
            nextStep = firstStep
            requestedStep = firstStep
        }

        func take() -> Result<PairBatch, EODataError> {
            condition.lock()
            defer { condition.unlock() }
            while ready == nil { condition.wait() }
            let result = ready!
            ready = nil
            nextStep += 1
            requestedStep = nextStep
            condition.broadcast()
            return result
        }

        func stop() {
            condition.lock()
            stopping = true
            condition.broadcast()
            while !finished { condition.wait() }
            condition.unlock()
        }

        func run() {
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
}
