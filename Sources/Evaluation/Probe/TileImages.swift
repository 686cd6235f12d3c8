import EOData
import Foundation
import TensorCore

/// Reads labelled tiles as the encoder's input: each source window resampled to T × T with the run's
/// resampling, then normalised per channel with the run's statistics (nodata → 0, the channel mean),
/// exactly as a training crop. Result: [N, C, T, T].
public func tileImages(_ tiles: [LabelledTile], dataset: RasterDataset, tileSize: Int, resampling: Resampling,
                       stats: ChannelStats) throws -> Tensor {
    let channels = dataset.bandCount, plane = tileSize * tileSize
    guard stats.mean.count == channels else {
        throw EvaluationError.labels("the imagery has \(channels) bands, the encoder was trained on "
                                     + "\(stats.mean.count)")
    }
    let readers = RasterReaders(dataset: dataset)
    let images = Tensor(zeros: [tiles.count, channels, tileSize, tileSize])
    try images.withUnsafeMutableBufferPointer { (pixels) throws in
        for (n, tile) in tiles.enumerated() {
            let raster = try readers.raster(tile.raster)
            let size = channels * plane
            let slot = UnsafeMutableBufferPointer(rebasing: pixels[(n * size)..<((n + 1) * size)])
            try raster.read(window: tile.window, outputWidth: tileSize, outputHeight: tileSize, resampling: resampling,
                            into: slot)
            stats.normalise(slot, nodata: raster.info.nodata)
        }
    }
    return images
}

/// Which token summarises a tile.
public enum FeaturePooling: String, Sendable, CaseIterable {
    /// The cls token (METHOD.md §10: the linear probe reads cls).
    case cls
    /// The mean of the patch tokens.
    case mean

    /// features [N, 1 + L, D] → one row per tile [N][D], in Double for the probe's solvers.
    public func pool(_ features: Tensor) -> [[Double]] {
        let n = features.shape[0], rows = features.shape[1], d = features.shape[2]
        return features.withUnsafeBufferPointer { values in
            (0..<n).map { image in
                let base = image * rows * d
                switch self {
                case .cls:
                    return (0..<d).map { Double(values[base + $0]) }
                case .mean:
                    var sum = [Double](repeating: 0, count: d)
                    for row in 1..<rows {
                        for j in 0..<d { sum[j] += Double(values[base + row * d + j]) }
                    }
                    return sum.map { $0 / Double(rows - 1) }
                }
            }
        }
    }
}
