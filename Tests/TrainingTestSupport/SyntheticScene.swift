import EOData
import Foundation

/// A smooth multi-scale 3-band world (so reconstruction is learnable), written through GDAL.
public enum SyntheticScene {
    /// Writes `scene.tif` (256 × 192, 3 bands, EPSG:4326) into `folder` and returns its path.
    public static func write(in folder: URL) throws -> String {
        let path = folder.appendingPathComponent("scene.tif").path
        let width = 256, height = 192
        var values = [Float](repeating: 0, count: 3 * width * height)
        for band in 0..<3 {
            for row in 0..<height {
                for col in 0..<width {
                    let x = Double(col), y = Double(row), phase = Double(band)
                    let v = 120 + 60 * sin(x / 9 + phase) * cos(y / 13) + 40 * sin((x + y) / 31 + 2 * phase)
                    values[(band * height + row) * width + col] = Float(v)
                }
            }
        }
        try RasterWriter.writeGeoTIFF(path: path, width: width, height: height, bandCount: 3, values: values,
                                      dataType: .float32, geoTransform: [10, 0.01, 0, 50, 0, -0.01], epsg: 4326,
                                      nodata: nil)
        return path
    }
}
