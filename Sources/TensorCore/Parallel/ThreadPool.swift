import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A persistent pool of OS threads that runs data-parallel loops: `parallelFor(n) { task, thread in }`.
///
/// Determinism contract (SYSTEM.md §4): the pool decides only *which thread* runs a task, never
/// what a task computes. Kernels split their *output* into tasks whose results do not depend on
/// the split (never a reduction dimension), so results are bit-identical for any `threadCount`.
///
/// `threadCount == 1` creates no threads and runs every loop inline. The calling thread takes part
/// as thread 0, so a pool of n uses n-1 extra threads. A loop started from inside another loop, or
/// while another thread is using the pool, runs inline on the caller: correct, only not parallel.
/// These are OS threads, never the Swift concurrency pool (a blocked cooperative thread stalls
/// every task on a 2-core machine).
public final class ThreadPool: @unchecked Sendable {
    /// Threads that run a loop, including the caller.
    public let threadCount: Int

    private let shared: Shared
    private var threads: [pthread_t] = []

    /// Online logical CPUs (at least 1).
    public static var machineThreadCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// A pool of `threadCount` threads (default: one per logical CPU). 1 means no threads.
    public init(threadCount: Int = ThreadPool.machineThreadCount) {
        precondition(threadCount >= 1, "ThreadPool: threadCount must be >= 1, got \(threadCount)")
        self.threadCount = threadCount
        shared = Shared()
        for index in 1..<threadCount {
            threads.append(Self.spawn(shared, index: index))
        }
    }

    deinit {
        shared.shutDown()
        for thread in threads { pthread_join(thread, nil) }
    }

    /// Runs `body(task, thread)` for every `task` in `0..<taskCount`; returns when all have run.
    /// `thread` is in `0..<threadCount` and is unique among bodies running at the same time.
    public func parallelFor(_ taskCount: Int, _ body: (_ task: Int, _ thread: Int) -> Void) {
        guard taskCount > 0 else { return }
        guard threadCount > 1, taskCount > 1,
              shared.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            for task in 0..<taskCount { body(task, 0) }
            return
        }
        defer { shared.busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { escapable in
            shared.run(Job(body: escapable, taskCount: taskCount), workers: threadCount - 1)
        }
    }

    /// Convenience: splits `0..<count` into contiguous ranges of `grain` elements (the last shorter).
    public func parallelFor(range count: Int, grain: Int, _ body: (Range<Int>, _ thread: Int) -> Void) {
        guard count > 0 else { return }
        let chunk = max(grain, 1)
        let tasks = (count + chunk - 1) / chunk
        parallelFor(tasks) { task, thread in
            let start = task * chunk
            body(start..<min(start + chunk, count), thread)
        }
    }

    private static func spawn(_ shared: Shared, index: Int) -> pthread_t {
        let context = Unmanaged.passRetained(WorkerContext(shared: shared, index: index)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
            context.shared.workerLoop(index: context.index)
            return nil
        }, context)
        precondition(status == 0, "ThreadPool: pthread_create failed with \(status)")
        return thread
    }
}

/// One loop being run: the body and the next unclaimed task index.
private final class Job {
    let body: (Int, Int) -> Void
    let taskCount: Int
    let nextTask = Atomic<Int>(0)

    init(body: @escaping (Int, Int) -> Void, taskCount: Int) {
        self.body = body
        self.taskCount = taskCount
    }

    func drain(thread: Int) {
        while true {
            let task = nextTask.wrappingAdd(1, ordering: .relaxed).oldValue
            if task >= taskCount { return }
            body(task, thread)
        }
    }
}

private final class WorkerContext {
    let shared: Shared
    let index: Int
    init(shared: Shared, index: Int) {
        self.shared = shared
        self.index = index
    }
}

/// State shared by the caller and the workers. Workers hold this, not the pool, so the pool's
/// `deinit` runs when its last user lets go and can stop them.
private final class Shared: @unchecked Sendable {
    /// Iterations a finished worker (or the waiting caller) polls before it sleeps: loops come in
    /// quick succession during a training step and a condition-variable wake-up costs tens of µs.
    static let spinIterations = 2_000

    let busy = Atomic<Bool>(false)
    private let generation = Atomic<Int>(0)
    private let running = Atomic<Int>(0)
    // Guarded by `lock`.
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var job: Job?
    private var shuttingDown = false

    init() {
        pthread_mutex_init(lock, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
    }

    deinit {
        pthread_cond_destroy(wake)
        pthread_cond_destroy(done)
        pthread_mutex_destroy(lock)
        wake.deallocate()
        done.deallocate()
        lock.deallocate()
    }

    /// Publishes `current`, takes part as thread 0, and returns once no worker is inside it.
    func run(_ current: Job, workers: Int) {
        pthread_mutex_lock(lock)
        job = current
        running.store(workers, ordering: .relaxed)
        generation.add(1, ordering: .releasing)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(lock)

        current.drain(thread: 0)

        var spins = 0
        while running.load(ordering: .acquiring) > 0 {
            spins += 1
            if spins < Self.spinIterations { continue }
            pthread_mutex_lock(lock)
            while running.load(ordering: .acquiring) > 0 { pthread_cond_wait(done, lock) }
            pthread_mutex_unlock(lock)
        }
        pthread_mutex_lock(lock)
        job = nil
        pthread_mutex_unlock(lock)
    }

    func shutDown() {
        pthread_mutex_lock(lock)
        shuttingDown = true
        generation.add(1, ordering: .releasing)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(lock)
    }

    func workerLoop(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen && spins < Self.spinIterations {
                spins += 1
                if spins & 63 == 0 { sched_yield() }
            }
            pthread_mutex_lock(lock)
            while generation.load(ordering: .acquiring) == seen && !shuttingDown {
                pthread_cond_wait(wake, lock)
            }
            seen = generation.load(ordering: .acquiring)
            var current = job
            let stop = shuttingDown
            pthread_mutex_unlock(lock)
            if stop { return }
            guard current != nil else { continue }

            current?.drain(thread: index)
            // Let go of the job (and the caller's non-escaping body) before reporting done:
            // the caller returns as soon as `running` reaches zero.
            current = nil

            if running.wrappingSubtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                pthread_mutex_lock(lock)
                pthread_cond_signal(done)
                pthread_mutex_unlock(lock)
            }
        }
    }
}
