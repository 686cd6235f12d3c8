import TensorCore

// The per-image part of the loss forward (one task per image n = b·K + k; see Loss.swift for the formulas).

/// Sums of one image (or of the batch): Σ e·w, Σ e·(1 − visible), Σ (1 − visible).
struct ImageLossSums {
    var weighted = 0.0
    var plain = 0.0
    var invisible = 0

    mutating func add(_ other: ImageLossSums) {
        weighted += other.weighted
        plain += other.plain
        invisible += other.invisible
    }
}

/// The buffers of one loss forward; `run(image:)` fills image n's slices of the outputs and returns its sums.
/// Shapes: pred, images, target, imageProjection [B·K, C, T, T]; visibility, visibleProjection, pixelError,
/// weight [B·K, T, T]; boxes [B·K] (empty for K = 1).
struct ImageLossJob {
    let geometry: PatchGeometry
    let config: ModelConfig
    let boxes: [TileBox]
    let pred: UnsafeBufferPointer<Float>
    let images: UnsafeBufferPointer<Float>
    let visibility: UnsafeBufferPointer<Float>
    let target: UnsafeMutableBufferPointer<Float>
    let imageProjection: UnsafeMutableBufferPointer<Float>
    let visibleProjection: UnsafeMutableBufferPointer<Float>
    let pixelError: UnsafeMutableBufferPointer<Float>
    let weight: UnsafeMutableBufferPointer<Float>

    var plane: Int { geometry.imageSize * geometry.imageSize }
    var size: Int { geometry.channels * plane }

    func run(image n: Int) -> ImageLossSums {
        let x = slice(images, n, size), visible = slice(visibility, n, plane)
        precondition(visible.allSatisfy { $0 == 0 || $0 == 1 }, "neighborLoss: visibility of image \(n) is not 0 / 1")
        let stats = config.normPixLoss ? PatchStatistics(image: x, geometry: geometry)
                                       : PatchStatistics(identityFor: geometry)
        let t = slice(target, n, size)
        stats.normalise(x, geometry: geometry, into: t)
        let error = pixelErrors(pred: slice(pred, n, size), target: UnsafeBufferPointer(t), channels: geometry.channels)
        let errorOut = slice(pixelError, n, plane)
        for pixel in 0..<plane { errorOut[pixel] = Float(error[pixel]) }

        var raw = [Double](repeating: 1, count: plane)
        if config.imagesPerSample == 2 { rawWeights(image: n, stats: stats, error: error, into: &raw) }
        let w = slice(weight, n, plane)
        smoothedWeights(raw, visible: visible, into: w)

        var sums = ImageLossSums()
        sums.weighted = weightedSum(error, UnsafeBufferPointer(w))
        for pixel in 0..<plane where visible[pixel] == 0 {
            sums.plain += error[pixel]
            sums.invisible += 1
        }
        return sums
    }

    /// w0 = clamp(e_proj / (e + ε), 0, 1) where the neighbour shows the point, else left at 1.
    /// Also writes x̃ and vis̃ of image n. A 0/0 ratio (possible only with ε = 0) counts as 1.
    private func rawWeights(image n: Int, stats: PatchStatistics, error: [Double], into raw: inout [Double]) {
        let o = n ^ 1, c = geometry.channels, t = geometry.imageSize, p = geometry.patchSize, g = geometry.gridSize
        let grid = projectionGrid(from: boxes[o], to: boxes[n], imageSize: t)
        let projected = slice(imageProjection, n, size), projectedVisible = slice(visibleProjection, n, plane)
        crossProjectImage(neighbour: slice(images, o, size), neighbourVisible: slice(visibility, o, plane),
                          grid: grid, channels: c, imageSize: t,
                          imageProjection: projected, visibleProjection: projectedVisible)
        let targetImage = slice(target, n, size), epsilon = Double(config.weightEpsilon)
        for y in 0..<t {
            for x in 0..<t where projectedVisible[y * t + x] != 0 {
                let pixel = y * t + x, patch = (y / p) * g + x / p
                var projectionError = 0.0
                for channel in 0..<c {
                    let value = Double(projected[channel * plane + pixel])
                    let normalised = (value - stats.mean[patch]) / stats.scale[patch]
                    let d = normalised - Double(targetImage[channel * plane + pixel])
                    projectionError += d * d
                }
                let ratio = (projectionError / Double(c)) / (error[pixel] + epsilon)
                raw[pixel] = ratio.isNaN ? 1 : min(max(ratio, 0), 1)
            }
        }
    }

    /// w = AvgPool(w0) with w = 0 on visible pixels, stored as Float.
    private func smoothedWeights(_ raw: [Double], visible: UnsafeBufferPointer<Float>,
                                 into w: UnsafeMutableBufferPointer<Float>) {
        let t = geometry.imageSize
        var smoothed = [Double](repeating: 0, count: plane), scratch = smoothed
        raw.withUnsafeBufferPointer { input in
            smoothed.withUnsafeMutableBufferPointer { output in
                scratch.withUnsafeMutableBufferPointer { scratch in
                    averagePool(input, height: t, width: t, kernel: config.weightKernel, scratch: scratch, into: output)
                }
            }
        }
        for pixel in 0..<plane { w[pixel] = visible[pixel] != 0 ? 0 : Float(smoothed[pixel]) }
    }
}
