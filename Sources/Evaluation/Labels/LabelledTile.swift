import EOData

/// One tile of the imagery with its class: the source window of a dataset raster that the probe reads,
/// resampled to the model's tile side exactly like a training crop.
public struct LabelledTile: Sendable, Equatable {
    /// Index into the dataset's `rasters`.
    public var raster: Int
    public var window: PixelWindow
    /// Index into `LabelledTiles.classNames`.
    public var label: Int

    public init(raster: Int, window: PixelWindow, label: Int) {
        self.raster = raster
        self.window = window
        self.label = label
    }
}

/// The labelled tiles of a probe, the names of their classes, and what was left out and why.
public struct LabelledTiles: Sendable {
    public var tiles: [LabelledTile]
    public var classNames: [String]
    /// Tiles (or CSV rows) left out, by reason ("outside the label raster": 12).
    public var skipped: [String: Int]

    public init(tiles: [LabelledTile], classNames: [String], skipped: [String: Int] = [:]) {
        self.tiles = tiles
        self.classNames = classNames
        self.skipped = skipped
    }

    /// Tiles per class, in class order.
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classNames.count)
        for tile in tiles { counts[tile.label] += 1 }
        return counts
    }
}

/// The non-overlapping grid of `side` × `side` source-pixel windows that lie wholly inside each raster,
/// row by row from the top-left corner (a partial last row or column is dropped).
public func tileGrid(_ dataset: RasterDataset, side: Int) -> [(raster: Int, window: PixelWindow)] {
    precondition(side >= 1, "tileGrid: side \(side) must be >= 1")
    var windows: [(raster: Int, window: PixelWindow)] = []
    for (index, info) in dataset.rasters.enumerated() {
        for row in 0..<(info.height / side) {
            for column in 0..<(info.width / side) {
                windows.append((index, PixelWindow(x: Double(column * side), y: Double(row * side),
                                                   width: Double(side), height: Double(side))))
            }
        }
    }
    return windows
}
