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
        let k = sampler.imagesPerSample
        let images = Tensor(zeros: [positions.count, k, sampler.channels, sampler.tileSize, sampler.tileSize])
        var results = [Result<SampleGeometry, EODataError>?](repeating: nil, count: positions.count)
        lock.withLock { _ in
            results.withUnsafeMutableBufferPointer { slots in
                images.withUnsafeMutableBufferPointer { pixels in
                    fill(pixels, positions: positions, results: slots)
                }
            }
        }
        var boxes: [Float] = [], overlaps: [Float] = []
        boxes.reserveCapacity(positions.count * k * 4)
        for result in results {
            let geometry = try result!.get()
            for box in geometry.boxes {
                boxes += [Float(box.left), Float(box.top), Float(box.right), Float(box.bottom)]
            }
            overlaps.append(Float(geometry.iou))
        }
        return PairBatch(images: images, boxes: boxes, iou: overlaps, positions: positions)
    }

    /// pixels: [B, K, C, T, T]; one pool task per sample, each thread with its own readers.
    private func fill(_ pixels: UnsafeMutableBufferPointer<Float>, positions: [Int],
                      results: UnsafeMutableBufferPointer<Result<SampleGeometry, EODataError>?>) {
        let count = sampler.sampleCount
        pool.parallelFor(positions.count) { b, thread in
            let slot = UnsafeMutableBufferPointer(rebasing: pixels[(b * count)..<((b + 1) * count)])
            do throws(EODataError) {
                results[b] = .success(try sampler.sample(positions[b], into: slot, readers: readers[thread]))
            } catch {
                results[b] = .failure(error)
            }
        }
    }
}
