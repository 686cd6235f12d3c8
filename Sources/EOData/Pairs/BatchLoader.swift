import Synchronization
import TensorCore

/// A batch of samples: B samples of K images each.
public struct PairBatch: Sendable {
    /// [B, K, C, T, T], normalised.
    public var images: Tensor
    /// [B, K, 4] pair-frame boxes (left, top, right, bottom), flattened.
    public var boxes: [Float]
    /// [B] pair IoU (0 for K = 1).
    public var iou: [Float]
    /// [B] global sample positions.
    public var positions: [Int]

    public var batchSize: Int { positions.count }
}

/// Fills batches from lists of sample positions on a `ThreadPool`; each pool slot keeps its own
/// `RasterReaders`, so no GDAL handle is shared between threads. One batch at a time: concurrent
/// `load` calls are serialised.
public final class BatchLoader: @unchecked Sendable {
    public let sampler: PairSampler
    private let pool: ThreadPool
    private let readers: [RasterReaders]
    private let lock = Mutex<Void>(())

    public init(sampler: PairSampler, threadCount: Int = 1) {
        self.sampler = sampler
        pool = ThreadPool(threadCount: threadCount)
        readers = (0..<threadCount).map { _ in RasterReaders(dataset: sampler.dataset) }
    }

    public var threadCount: Int { pool.threadCount }

    /// Samples `positions` into a new batch. Throws the first sample error (by batch index).
    public func load(positions: [Int]) throws(EODataError) -> PairBatch {
        let count = sampler.sampleCount
        let k = sampler.imagesPerSample
        let images = Tensor(zeros: [positions.count, k, sampler.channels, sampler.tileSize, sampler.tileSize])
        var boxes = [Float](repeating: 0, count: positions.count * k * 4)
        var overlaps = [Float](repeating: 0, count: positions.count)
        var errors = [EODataError?](repeating: nil, count: positions.count)
        lock.withLock { _ in
            images.withUnsafeMutableBufferPointer { buffer in
                boxes.withUnsafeMutableBufferPointer { boxBuffer in
                    overlaps.withUnsafeMutableBufferPointer { iouBuffer in
                        errors.withUnsafeMutableBufferPointer { errorBuffer in
                            pool.parallelFor(positions.count) { b, thread in
                                let slot = UnsafeMutableBufferPointer(rebasing: buffer[(b * count)..<((b + 1) * count)])
                                do throws(EODataError) {
                                    let geometry = try sampler.sample(positions[b], into: slot, readers: readers[thread])
                                    for (j, box) in geometry.boxes.enumerated() {
                                        let base = (b * k + j) * 4
                                        boxBuffer[base] = Float(box.left)
                                        boxBuffer[base + 1] = Float(box.top)
                                        boxBuffer[base + 2] = Float(box.right)
                                        boxBuffer[base + 3] = Float(box.bottom)
                                    }
                                    iouBuffer[b] = Float(geometry.iou)
                                } catch {
                                    errorBuffer[b] = error
                                }
                            }
                        }
                    }
                }
            }
        }
        if let first = errors.compactMap({ $0 }).first { throw first }
        return PairBatch(images: images, boxes: boxes, iou: overlaps, positions: positions)
    }
}
