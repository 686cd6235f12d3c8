import ArgumentParser
import Foundation
import NeighborMAE
import TensorCore

/// The geometry of a benchmark batch: per pair the two boxes in the [0, 32] pair frame, the visible count
/// n of each image and each image's ids_shuffle. Shapes: boxes [B][2][4], visibleCounts [B][2],
/// idsShuffle [B][2][L]. Written by `scripts/bench/torch_step.py --write-geometry`, so both sides time the
/// same masks; `synthetic` draws the same crop recipe (METHOD.md §1.2–1.4) from Philox instead.
struct StepGeometry: Decodable {
    let pairs: Int
    let boxes: [[[Double]]]
    let visibleCounts: [[Int]]
    let idsShuffle: [[[Int]]]

    static func load(path: String, config: ModelConfig) throws -> StepGeometry {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ValidationError("cannot read --geometry \(path): \(error); hint: write it with "
                                  + "scripts/bench/torch_step.py --write-geometry FILE")
        }
        let geometry = try JSONDecoder().decode(StepGeometry.self, from: data)
        let l = config.patchesPerImage
        guard geometry.boxes.count == geometry.pairs, geometry.visibleCounts.count == geometry.pairs,
              geometry.idsShuffle.count == geometry.pairs,
              geometry.idsShuffle.allSatisfy({ $0.count == 2 && $0.allSatisfy { $0.sorted() == Array(0..<l) } }),
              geometry.visibleCounts.joined().allSatisfy({ (0...config.maxVisiblePatches).contains($0) })
        else {
            throw ValidationError("--geometry \(path) does not fit the CPU preset (L = \(l), n ≤ "
                                  + "\(config.maxVisiblePatches)); hint: regenerate it with torch_step.py")
        }
        return geometry
    }

    /// Pairs from the crop recipe on a square source, normalised to the pair frame, n by the IoU rule.
    static func synthetic(pairs: Int, config: ModelConfig, seed: UInt64) -> StepGeometry {
        let rng = CounterRNG(seed: seed)
        var boxes: [[[Double]]] = [], counts: [[Int]] = [], shuffles: [[[Int]]] = []
        for sample in 0..<pairs {
            var stream = rng.stream(UInt32(sample), 0x67656f)
            let pair = pairFrame([cropBox(&stream), cropBox(&stream)])
            let n = visibleCount(iou: iou(pair[0], pair[1]), config: config)
            boxes.append(pair)
            counts.append([n, n])
            shuffles.append((0..<2).map { _ in
                var order = Array(0..<config.patchesPerImage)
                for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, stream.nextInt(below: i + 1)) }
                return order
            })
        }
        return StepGeometry(pairs: pairs, boxes: boxes, visibleCounts: counts, idsShuffle: shuffles)
    }

    /// Images N(0, 1) [B, 2, C, T, T] from `seed`, the boxes as F32 and the mask plan.
    func batch(config: ModelConfig, seed: UInt64) -> ModelBatch {
        let t = config.imageSize
        let images = Tensor(zeros: [pairs, 2, config.channels, t, t])
        var stream = CounterRNG(seed: seed).stream(0x696d67, 1)
        images.withUnsafeMutableBufferPointer { stream.fillNormal($0) }
        let boxTensor = Tensor(shape: [pairs, 2, 4], values: boxes.joined().joined().map { Float($0) })
        let mask = MaskPlan(shuffle: idsShuffle.joined().joined().map { Int32($0) },
                            visibleCounts: Array(visibleCounts.joined()), batchSize: pairs, config: config)
        return ModelBatch(images: images, boxes: boxTensor, mask: mask)
    }

    // MARK: - Crop recipe

    /// (left, top, right, bottom), y-up, in units of the source height (METHOD.md §1.2–1.3).
    private static func cropBox(_ stream: inout RandomStream) -> [Double] {
        let ratio = exp(stream.nextUniform(log(0.75), log(1 / 0.75)))
        let area = stream.nextUniform(0.2, 1.0)
        let h = min(area.squareRoot(), 1 / ratio, 1.0), w = h * ratio
        let left = stream.nextUniformDouble() * (1 - w)
        let top = 1 - stream.nextUniformDouble() * (1 - h)
        return [left, top, left + w, top - h]
    }

    /// METHOD.md §1.4: the union of the pair spans [0, 32]² (per-axis shift and scale).
    private static func pairFrame(_ pair: [[Double]]) -> [[Double]] {
        let x0 = pair.map { $0[0] }.min()!, y0 = pair.map { $0[3] }.min()!
        let sx = 32 / (pair.map { $0[2] }.max()! - x0), sy = 32 / (pair.map { $0[1] }.max()! - y0)
        return pair.map { [($0[0] - x0) * sx, ($0[1] - y0) * sy, ($0[2] - x0) * sx, ($0[3] - y0) * sy]
            .map { Double(Float($0)) } }
    }

    private static func iou(_ a: [Double], _ b: [Double]) -> Double {
        let iw = max(0, min(a[2], b[2]) - max(a[0], b[0])), ih = max(0, min(a[1], b[1]) - max(a[3], b[3]))
        let area = { (x: [Double]) in (x[2] - x[0]) * (x[1] - x[3]) }
        return min(1, iw * ih / (area(a) + area(b) - iw * ih))
    }
}
