import TensorCore

// Scoped access to the memory of several tensors at once (the pointers never leave the closure).

/// Calls `body` with read-only buffers of `tensors`, in order.
func withBuffers<R>(_ tensors: [Tensor], _ body: ([UnsafeBufferPointer<Float>]) -> R) -> R {
    func step(_ index: Int, _ done: [UnsafeBufferPointer<Float>]) -> R {
        if index == tensors.count { return body(done) }
        return tensors[index].withUnsafeBufferPointer { step(index + 1, done + [$0]) }
    }
    return step(0, [])
}

/// Calls `body` with mutable buffers of `tensors`, in order. The tensors must not share memory.
func withMutableBuffers<R>(_ tensors: [Tensor], _ body: ([UnsafeMutableBufferPointer<Float>]) -> R) -> R {
    func step(_ index: Int, _ done: [UnsafeMutableBufferPointer<Float>]) -> R {
        if index == tensors.count { return body(done) }
        return tensors[index].withUnsafeMutableBufferPointer { step(index + 1, done + [$0]) }
    }
    return step(0, [])
}

/// Runs `body(n)` for n in 0..<count, on the pool when there is one (tasks must write disjoint memory).
func forEachTask(_ count: Int, _ pool: ThreadPool?, _ body: (Int) -> Void) {
    if let pool { pool.parallelFor(count) { task, _ in body(task) } } else { for task in 0..<count { body(task) } }
}
