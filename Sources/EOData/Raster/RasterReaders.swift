/// One thread's open `Raster` handles for a dataset, opened on first use.
///
/// Single-owner and not `Sendable`: each thread (pool slot, prefetch thread, process) keeps its own,
/// so no GDAL handle is ever used by two threads at once. At most `maxOpen` handles stay open;
/// beyond that the oldest is closed.
public final class RasterReaders {
    public let paths: [String]
    public let maxOpen: Int
    private var open: [Int: Raster] = [:]
    private var order: [Int] = []

    public init(dataset: RasterDataset, maxOpen: Int = 64) {
        precondition(maxOpen >= 1, "RasterReaders: maxOpen must be >= 1")
        paths = dataset.rasters.map(\.path)
        self.maxOpen = maxOpen
    }

    /// The open handle of raster `index` (opening it if needed).
    public func raster(_ index: Int) throws(EODataError) -> Raster {
        if let raster = open[index] { return raster }
        if open.count >= maxOpen, let oldest = order.first {
            order.removeFirst()
            open[oldest] = nil
        }
        let raster = try Raster(path: paths[index])
        open[index] = raster
        order.append(index)
        return raster
    }
}
