import Foundation
import NeighborMAE

/// The loss of METHOD.md §5 written out directly, all in Double, for comparison with `neighborLossForward`:
/// per-patch statistics by explicit gathering, a dense grid with PyTorch's linspace form of the base grid,
/// the naive grid_sample and AvgPool references. Shapes as `neighborLossForward` (flat arrays).
struct NaiveLoss {
    var weighted = 0.0
    var plain = 0.0
    var target: [Double] = []
    var projection: [Double] = []
    var visibleProjection: [Double] = []
    var weight: [Double] = []

    init(pred: [Float], images: [Float], visibility: [Float], boxes: [TileBox], config: ModelConfig) {
        let c = config.channels, t = config.imageSize, k = config.imagesPerSample
        let count = images.count / (c * t * t), plane = t * t
        let stats = (0..<count).map { n in
            Self.statistics(Array(images[(n * c * plane)..<((n + 1) * c * plane)]), config)
        }
        target = images.indices.map { index in
            let n = index / (c * plane), pixel = index % plane
            let patch = (pixel / t / config.patchSize) * config.gridSize + (pixel % t) / config.patchSize
            return config.normPixLoss ? (Double(images[index]) - stats[n].mean[patch]) / stats[n].scale[patch]
                                      : Double(images[index])
        }
        let error = (0..<(count * plane)).map { index in
            let (n, pixel) = index.quotientAndRemainder(dividingBy: plane)
            return (0..<c).map { ch in
                let at = (n * c + ch) * plane + pixel
                return (Double(pred[at]) - target[at]) * (Double(pred[at]) - target[at])
            }.reduce(0, +) / Double(c)
        }
        projection = [Double](repeating: 0, count: images.count)
        visibleProjection = [Double](repeating: 0, count: count * plane)
        weight = []
        var invisible = 0.0
        for n in 0..<count {
            var raw = [Double](repeating: 1, count: plane)
            if k == 2 {
                raw = rawWeights(n, images, visibility, boxes, stats[n], error, config)
            }
            var smoothed = [Double](repeating: 0, count: plane)
            raw.withUnsafeBufferPointer { r in
                smoothed.withUnsafeMutableBufferPointer {
                    averagePoolReference(r, height: t, width: t, kernel: config.weightKernel, into: $0)
                }
            }
            for pixel in 0..<plane {
                let hidden = visibility[n * plane + pixel] == 0
                weight.append(hidden ? smoothed[pixel] : 0)
                weighted += error[n * plane + pixel] * weight.last!
                plain += hidden ? error[n * plane + pixel] : 0
                invisible += hidden ? 1 : 0
            }
        }
        weighted /= invisible
        plain /= invisible
    }

    static func statistics(_ image: [Float], _ config: ModelConfig) -> (mean: [Double], scale: [Double]) {
        let c = config.channels, t = config.imageSize, p = config.patchSize, g = config.gridSize
        var means: [Double] = [], scales: [Double] = []
        for patch in 0..<(g * g) {
            let (i, j) = patch.quotientAndRemainder(dividingBy: g)
            var values: [Double] = []
            for ch in 0..<c {
                for r in 0..<p {
                    for s in 0..<p { values.append(Double(image[(ch * t + i * p + r) * t + j * p + s])) }
                }
            }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
            means.append(mean)
            scales.append((variance + 1e-6).squareRoot())
        }
        return (means, scales)
    }

    private mutating func rawWeights(_ n: Int, _ images: [Float], _ visibility: [Float], _ boxes: [TileBox],
                                     _ stats: (mean: [Double], scale: [Double]), _ error: [Double],
                                     _ config: ModelConfig) -> [Double] {
        let c = config.channels, t = config.imageSize, plane = t * t, o = n ^ 1
        let (own, other) = (boxes[n], boxes[o])
        let base = (0..<t).map { -1 + 1 / Double(t) + Double($0) * (2 - 2 / Double(t)) / Double(t - 1) }
        let (sx, sy) = (own.width / other.width, own.height / other.height)
        let tx = (own.centerX - other.centerX) * 2 / other.width, ty = -(own.centerY - other.centerY) * 2 / other.height
        let grid = base.flatMap { y in base.flatMap { x in [x * sx + tx, y * sy + ty] } }
        var image = [Float](repeating: 0, count: c * plane), visible = [Float](repeating: 0, count: plane)
        let neighbour = Array(images[(o * c * plane)..<((o + 1) * c * plane)])
        let neighbourVisible = Array(visibility[(o * plane)..<((o + 1) * plane)])
        grid.withUnsafeBufferPointer { g in
            neighbour.withUnsafeBufferPointer { x in
                image.withUnsafeMutableBufferPointer {
                    gridSampleBilinearReference(input: x, channels: c, height: t, width: t, grid: g, outHeight: t,
                                                outWidth: t, output: $0)
                }
            }
            neighbourVisible.withUnsafeBufferPointer { v in
                visible.withUnsafeMutableBufferPointer {
                    gridSampleNearestReference(input: v, channels: 1, height: t, width: t, grid: g, outHeight: t,
                                               outWidth: t, output: $0)
                }
            }
        }
        var raw = [Double](repeating: 1, count: plane)
        for pixel in 0..<plane {
            visibleProjection[n * plane + pixel] = Double(visible[pixel])
            let patch = (pixel / t / config.patchSize) * config.gridSize + (pixel % t) / config.patchSize
            var projectionError = 0.0
            for ch in 0..<c {
                let value = Double(image[ch * plane + pixel])
                projection[(n * c + ch) * plane + pixel] = value
                let normalised = config.normPixLoss ? (value - stats.mean[patch]) / stats.scale[patch] : value
                projectionError += pow(normalised - target[(n * c + ch) * plane + pixel], 2)
            }
            let ratio = projectionError / Double(c) / (error[n * plane + pixel] + Double(config.weightEpsilon))
            if visible[pixel] != 0 { raw[pixel] = min(max(ratio, 0), 1) }
        }
        return raw
    }
}
