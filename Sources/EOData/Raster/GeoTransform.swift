/// GDAL's affine geotransform, restricted to north-up grids (no rotation terms).
///
/// Pixel (column x, row y), with (0, 0) the top-left corner of the top-left pixel, maps to
/// map coordinates (originX + x·pixelWidth, originY + y·pixelHeight); `pixelHeight` is negative
/// for north-up rasters, so map y grows upwards (the y-up frame of METHOD.md §1.3).
public struct GeoTransform: Codable, Equatable, Hashable, Sendable {
    public var originX: Double
    public var pixelWidth: Double
    public var originY: Double
    public var pixelHeight: Double

    public init(originX: Double, pixelWidth: Double, originY: Double, pixelHeight: Double) {
        self.originX = originX
        self.pixelWidth = pixelWidth
        self.originY = originY
        self.pixelHeight = pixelHeight
    }

    /// The identity frame used for rasters without georeferencing: one map unit per pixel,
    /// origin at the top-left corner, y up (so rows go to negative map y).
    public static let pixelFrame = GeoTransform(originX: 0, pixelWidth: 1, originY: 0, pixelHeight: -1)

    /// From GDAL's six coefficients; nil if rotated or not north-up.
    public init?(gdal coefficients: [Double]) {
        guard coefficients.count == 6, coefficients[2] == 0, coefficients[4] == 0,
              coefficients[1] > 0, coefficients[5] < 0,
              coefficients.allSatisfy({ $0.isFinite })
        else { return nil }
        self.init(originX: coefficients[0], pixelWidth: coefficients[1],
                  originY: coefficients[3], pixelHeight: coefficients[5])
    }

    /// GDAL's six coefficients.
    public var coefficients: [Double] { [originX, pixelWidth, 0, originY, 0, pixelHeight] }

    /// Map x of pixel column `x` (a continuous coordinate: edges are integers).
    @inlinable public func mapX(_ x: Double) -> Double { originX + x * pixelWidth }
    /// Map y of pixel row `y`.
    @inlinable public func mapY(_ y: Double) -> Double { originY + y * pixelHeight }
    /// Pixel column of map x.
    @inlinable public func pixelX(_ mapX: Double) -> Double { (mapX - originX) / pixelWidth }
    /// Pixel row of map y.
    @inlinable public func pixelY(_ mapY: Double) -> Double { (mapY - originY) / pixelHeight }

    /// The map-unit box (y-up) of a pixel window.
    public func box(of window: PixelWindow) -> Box {
        Box(left: mapX(window.x), top: mapY(window.y),
            right: mapX(window.x + window.width), bottom: mapY(window.y + window.height))
    }

    /// The pixel window covering a map-unit box.
    public func window(of box: Box) -> PixelWindow {
        let x0 = pixelX(box.left), x1 = pixelX(box.right)
        let y0 = pixelY(box.top), y1 = pixelY(box.bottom)
        return PixelWindow(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }
}

/// A (possibly fractional) window in pixel coordinates: columns [x, x + width), rows [y, y + height).
public struct PixelWindow: Codable, Equatable, Hashable, Sendable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// True when the window lies inside a width × height raster (with a little slack for rounding).
    public func isInside(width rasterWidth: Int, height rasterHeight: Int, slack: Double = 1e-6) -> Bool {
        x >= -slack && y >= -slack && x + width <= Double(rasterWidth) + slack
            && y + height <= Double(rasterHeight) + slack
    }
}
