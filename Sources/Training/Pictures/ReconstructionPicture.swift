import EOData
import NeighborMAE
import TensorCore

/// The picture MAE papers show, for the first `pairs` samples of a forward pass: one row per sample,
/// for each image of the sample three tiles: original, masked input (hidden patches grey), and the
/// reconstruction with the visible patches pasted back. With norm-pix targets the prediction is in
/// per-patch normalised units; it is mapped back with the original patch's mean and scale.
public func reconstructionPicture(_ forward: ModelForward, pairs: Int, normPix: Bool, stats: ChannelStats) -> ImageGrid {
    let images = forward.batch.images, pred = forward.pred
    let b = min(pairs, images.shape[0]), k = images.shape[1], c = images.shape[2], t = images.shape[3]
    let patchSize = t / Int(Double(forward.batch.mask.patchesPerImage).squareRoot())
    let geometry = PatchGeometry(channels: c, imageSize: t, patchSize: patchSize)
    let gap = 4, columns = 3 * k
    var grid = ImageGrid(width: columns * (t + gap) + gap, height: b * (t + gap) + gap)
    let visibility = forward.loss.visibility.scalars
    let plane = c * t * t
    let displayRange = displayRange(stats)
    images.withUnsafeBufferPointer { original in
        pred.withUnsafeBufferPointer { predicted in
            for sample in 0..<b {
                for image in 0..<k {
                    let n = sample * k + image
                    let tile = UnsafeBufferPointer(rebasing: original[(n * plane)..<((n + 1) * plane)])
                    let visible = Array(visibility[(n * t * t)..<((n + 1) * t * t)]).map { $0 > 0.5 }
                    var recon = reconstruction(UnsafeBufferPointer(rebasing: predicted[(n * plane)..<((n + 1) * plane)]),
                                               original: tile, normPix: normPix,
                                               geometry: geometry)
                    for i in 0..<plane where visible[i % (t * t)] { recon[i] = tile[i] }
                    let y = gap + sample * (t + gap), x0 = gap + image * 3 * (t + gap)
                    grid.paste(tile: tile, channels: c, side: t, at: x0, y: y, stats: stats, displayRange: displayRange)
                    grid.paste(tile: tile, channels: c, side: t, at: x0 + t + gap, y: y, stats: stats,
                               displayRange: displayRange, mask: visible.map { !$0 })
                    recon.withUnsafeBufferPointer {
                        grid.paste(tile: $0, channels: c, side: t, at: x0 + 2 * (t + gap), y: y, stats: stats,
                                   displayRange: displayRange)
                    }
                }
            }
        }
    }
    return grid
}

/// Prediction back in the original's units: pred·scale_P + mean_P (norm-pix), else pred itself.
private func reconstruction(_ pred: UnsafeBufferPointer<Float>, original: UnsafeBufferPointer<Float>, normPix: Bool,
                            geometry: PatchGeometry) -> [Float] {
    guard normPix else { return Array(pred) }
    let stats = PatchStatistics(image: original, geometry: geometry)
    let t = geometry.imageSize, p = geometry.patchSize, g = geometry.gridSize
    var out = [Float](repeating: 0, count: pred.count)
    for i in 0..<pred.count {
        let y = (i / t) % t, x = i % t
        let patch = (y / p) * g + x / p
        out[i] = Float(Double(pred[i]) * stats.scale[patch] + stats.mean[patch])
    }
    return out
}

/// Shown range in raw units: mean ± 2.5 std of the widest channel, floored at 0 (imagery is non-negative).
private func displayRange(_ stats: ChannelStats) -> ClosedRange<Double> {
    let low = zip(stats.mean, stats.std).map { $0 - 2.5 * $1 }.min() ?? 0
    let high = zip(stats.mean, stats.std).map { $0 + 2.5 * $1 }.max() ?? 1
    return max(0, low)...max(high, max(0, low) + 1)
}
