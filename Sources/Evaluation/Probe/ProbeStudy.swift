import EOData
import Foundation
import TensorCore

/// One encoder × pooling, probed: what `neighbormae probe` prints and writes as JSON.
public struct ProbeEntry: Codable, Sendable {
    /// "NeighborMAE", "MAE (K = 1)" or "random init".
    public var kind: String
    public var origin: String
    public var step: Int
    public var pooling: String
    public var linearAccuracy: [Double]
    public var nearestNeighbourAccuracy: [Double]
    public var majorityClassAccuracy: [Double]
    public var linearBalancedAccuracy: Double
    public var nearestNeighbourBalancedAccuracy: Double
    /// Summed over the splits' held-out tiles.
    public var linearConfusion: ConfusionMatrix
    public var nearestNeighbourConfusion: ConfusionMatrix
    public var regularization: [Double]
    public var trainTiles: Int
    public var heldOutTiles: Int
}

/// Runs the probe for several encoders on the same labelled tiles and splits, so their numbers compare.
public enum ProbeStudy {
    public static func run(encoders: [(kind: String, encoder: PretrainedEncoder)], tiles: LabelledTiles,
                           dataset: RasterDataset, poolings: [FeaturePooling], options: ProbeOptions,
                           pool: ThreadPool? = nil, log: (String) -> Void = { _ in }) throws -> [ProbeEntry] {
        let labels = tiles.tiles.map(\.label), classes = tiles.classNames.count
        var entries: [ProbeEntry] = []
        // Encoders of one study usually share the input (tile side, resampling, statistics): read it once.
        var input: (key: TileInput, images: Tensor)?
        for (kind, encoder) in encoders {
            let key = TileInput(size: encoder.config.model.imageSize, resampling: encoder.config.pairs.resampling,
                                stats: encoder.stats)
            if input?.key != key {
                input = (key, try tileImages(tiles.tiles, dataset: dataset, tileSize: key.size,
                                             resampling: key.resampling, stats: key.stats))
            }
            let images = input!.images
            let started = Date()
            let features = encoder.encode(images, pool: pool)
            log("\(kind): features of \(tiles.tiles.count) tiles in "
                + String(format: "%.1f s", Date().timeIntervalSince(started)))
            for pooling in poolings {
                let scores = try ProbeEvaluation.run(features: pooling.pool(features), labels: labels, classes: classes,
                                                     options: options)
                entries.append(ProbeEntry(
                    kind: kind, origin: encoder.origin, step: encoder.step, pooling: pooling.rawValue,
                    linearAccuracy: scores.linear, nearestNeighbourAccuracy: scores.nearestNeighbours,
                    majorityClassAccuracy: scores.majorityClass,
                    linearBalancedAccuracy: scores.linearMatrix.balancedAccuracy,
                    nearestNeighbourBalancedAccuracy: scores.nearestNeighbourMatrix.balancedAccuracy,
                    linearConfusion: scores.linearMatrix, nearestNeighbourConfusion: scores.nearestNeighbourMatrix,
                    regularization: scores.regularization, trainTiles: scores.trainTiles,
                    heldOutTiles: scores.heldOutTiles))
            }
        }
        return entries
    }

    /// The report: per entry its scores and both confusion matrices, then one summary table.
    public static func report(_ entries: [ProbeEntry], classNames: [String], options: ProbeOptions) -> String {
        func score(_ values: [Double]) -> String {
            let (mean, std) = meanAndSpread(values)
            return String(format: "%.3f ± %.3f", mean, std)
        }
        var lines: [String] = []
        for entry in entries {
            lines.append("")
            lines.append("== \(entry.kind): \(entry.origin) (step \(entry.step), \(entry.pooling) token)")
            func label(_ text: String) -> String { text.padding(toLength: 16, withPad: " ", startingAt: 0) }
            lines.append(label("linear probe") + "accuracy \(score(entry.linearAccuracy))  balanced "
                         + String(format: "%.3f", entry.linearBalancedAccuracy)
                         + "  (λ per split: "
                         + entry.regularization.map { String(format: "%g", $0) }.joined(separator: ", ") + ")")
            lines.append(label("kNN (k = \(options.neighbours))")
                         + "accuracy \(score(entry.nearestNeighbourAccuracy))  balanced "
                         + String(format: "%.3f", entry.nearestNeighbourBalancedAccuracy))
            lines.append(label("majority class") + "accuracy \(score(entry.majorityClassAccuracy))")
            lines.append("linear probe confusion, held-out tiles of all \(options.repeats) splits:")
            lines.append(entry.linearConfusion.table(classNames: classNames))
            lines.append("kNN confusion:")
            lines.append(entry.nearestNeighbourConfusion.table(classNames: classNames))
        }
        lines.append("")
        lines.append("== summary (held-out accuracy, mean ± std over \(options.repeats) splits)")
        let nameWidth = max(12, entries.map(\.kind.count).max() ?? 0)
        func pad(_ text: String, _ width: Int) -> String {
            text + String(repeating: " ", count: max(0, width - text.count))
        }
        lines.append(pad("encoder", nameWidth) + "  " + pad("step", 6) + pad("pool", 6) + pad("linear", 17)
                     + pad("kNN", 17) + "majority class")
        for entry in entries {
            lines.append(pad(entry.kind, nameWidth) + "  " + pad(String(entry.step), 6) + pad(entry.pooling, 6)
                         + pad(score(entry.linearAccuracy), 17) + pad(score(entry.nearestNeighbourAccuracy), 17)
                         + String(format: "%.3f", meanAndSpread(entry.majorityClassAccuracy).mean))
        }
        return lines.joined(separator: "\n")
    }
}

/// What the encoder's input tiles depend on besides the tiles themselves.
private struct TileInput: Equatable {
    let size: Int
    let resampling: Resampling
    let stats: ChannelStats
}
