import Foundation

// Norm-pix targets (METHOD.md §5.1): for the p × p patch P holding a pixel, μ_P and the unbiased
// variance σ²_P over its C·p² values; t = (x − μ_P)/√(σ²_P + 1e-6). The projected neighbour is
// normalised with the same (the target image's) statistics (METHOD.md §5.4, §8.11). Double math.

/// The 1e-6 under the square root of the norm-pix denominator (MAE's value).
public let normPixEpsilon = 1e-6

/// Per-patch mean and norm-pix denominator √(σ² + 1e-6) of one image, in raster patch order.
public struct PatchStatistics: Sendable, Equatable {
    /// μ_P, [L].
    public var mean: [Double]
    /// √(σ²_P + 1e-6) with the unbiased variance, [L].
    public var scale: [Double]

    /// Statistics of one image. Shapes: image [C, T, T]. Needs C·p² >= 2.
    public init(image: UnsafeBufferPointer<Float>, geometry: PatchGeometry) {
        let c = geometry.channels, t = geometry.imageSize, p = geometry.patchSize, g = geometry.gridSize
        precondition(image.count == geometry.imageElements, "PatchStatistics: image of \(image.count) floats")
        let count = Double(c * p * p)
        precondition(count >= 2, "PatchStatistics: an unbiased variance needs C·p² >= 2")
        mean = [Double](repeating: 0, count: g * g)
        scale = [Double](repeating: 0, count: g * g)
        for i in 0..<g {
            for j in 0..<g {
                var sum = 0.0
                forEachPatchValue(image, c, t, p, i, j) { sum += $0 }
                let mu = sum / count
                var squares = 0.0
                forEachPatchValue(image, c, t, p, i, j) { squares += ($0 - mu) * ($0 - mu) }
                mean[i * g + j] = mu
                scale[i * g + j] = (squares / (count - 1) + normPixEpsilon).squareRoot()
            }
        }
    }

    /// Statistics that leave values unchanged (mean 0, scale 1): the target without norm-pix.
    public init(identityFor geometry: PatchGeometry) {
        mean = [Double](repeating: 0, count: geometry.patchesPerImage)
        scale = [Double](repeating: 1, count: geometry.patchesPerImage)
    }

    /// (x − μ_P)/scale_P for every value of an image. Shapes: input [C, T, T], output [C, T, T].
    public func normalise(_ input: UnsafeBufferPointer<Float>, geometry: PatchGeometry,
                          into output: UnsafeMutableBufferPointer<Float>) {
        let t = geometry.imageSize, p = geometry.patchSize, g = geometry.gridSize
        precondition(input.count == geometry.imageElements && output.count == input.count, "normalise: shapes")
        for c in 0..<geometry.channels {
            for y in 0..<t {
                let row = (c * t + y) * t, patchRow = (y / p) * g
                for x in 0..<t {
                    let patch = patchRow + x / p
                    output[row + x] = Float((Double(input[row + x]) - mean[patch]) / scale[patch])
                }
            }
        }
    }
}

/// Calls `body` with every value of patch (i, j), channel by channel, rows top-down.
@inline(__always)
private func forEachPatchValue(_ image: UnsafeBufferPointer<Float>, _ c: Int, _ t: Int, _ p: Int, _ i: Int,
                               _ j: Int, _ body: (Double) -> Void) {
    for channel in 0..<c {
        for r in 0..<p {
            let row = (channel * t + i * p + r) * t + j * p
            for s in 0..<p { body(Double(image[row + s])) }
        }
    }
}
