import Foundation

// MARK: - Feeding the Prometheus endpoint

extension CoordinatorShell {
    /// Membership and progress after every loop turn (cheap: a few integers under a lock).
    func publishGauges() {
        guard let metrics else { return }
        let (machine, total) = (self.machine!, options.config.steps)
        metrics.update { gauges in
            gauges.committedSteps = machine.nextStep
            gauges.totalSteps = total
            gauges.workersInRing = machine.ring.count
            gauges.workersRegistered = machine.members.count
            gauges.joins = machine.counts.joins
            gauges.evictions = machine.counts.evictions
            gauges.leaves = machine.counts.leaves
        }
    }

    /// Loss, speed and the all-reduce's bus bandwidth of a committed step. The ring time of the worker that
    /// finished computing last is the transfer itself (the others also wait for it); bytes are the float32
    /// gradient, busbw = bytes / time · 2(N−1)/N as in nccl-tests.
    func publishStep(_ summary: StepSummary) {
        guard let metrics else { return }
        let workers = Double(summary.workers.count)
        let bytes = Double(4 * arena.gradients.count)
        let fastest = summary.reduceMs.values.min() ?? 0
        let busBandwidth = workers > 1 && fastest > 0 ? bytes / (fastest / 1000) * 2 * (workers - 1) / workers : 0
        let speed = progress.pairsPerSecond
        metrics.update { gauges in
            gauges.loss = summary.loss
            gauges.pairsPerSecond = speed
            gauges.allReduceBusBandwidth = busBandwidth
        }
    }

    func recordCheckpoint(_ step: Int) {
        let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
        metrics?.update { gauges in
            gauges.lastCheckpointStep = step
            gauges.lastCheckpointAt = now
        }
    }
}
