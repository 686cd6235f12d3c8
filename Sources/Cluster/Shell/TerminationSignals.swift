import Foundation

// MARK: - SIGTERM and SIGINT as a flag the shells poll

/// Turns SIGTERM and SIGINT into a count the shell's loop reads (it polls every few tens of milliseconds,
/// so no work happens in a signal handler). The first signal asks for a graceful stop; a shell may treat
/// a second one as "stop now".
final class TerminationSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var received = 0
    private var sources: [DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "neighbormae.signals")

    /// - Parameter interactive: false for a process a launcher manages: the terminal's Ctrl-C reaches the
    ///   whole process group, but only the launcher should act on it (it stops the coordinator first, so the
    ///   workers are still there to upload the final checkpoint); SIGINT is then ignored.
    init(interactive: Bool = true) {
        if !interactive { signal(SIGINT, SIG_IGN) }
        for number in interactive ? [SIGTERM, SIGINT] : [SIGTERM] {
            signal(number, SIG_IGN)   // delivered to the dispatch source instead of killing the process
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [weak self] in self?.record() }
            source.resume()
            sources.append(source)
        }
    }

    deinit { sources.forEach { $0.cancel() } }

    /// Signals received so far.
    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    private func record() {
        lock.lock()
        received += 1
        lock.unlock()
    }
}
