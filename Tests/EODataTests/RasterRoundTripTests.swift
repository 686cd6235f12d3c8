import EOData
import Foundation
import Testing

@Suite("EOData GeoTIFF round trip through GDAL")
struct RasterRoundTripTests {
    static let types: [RasterDataType] = [.byte, .uint16, .float32]

    @Test(arguments: types)
    func multiBandWindowsGeoTransformCRSAndNodata(type: RasterDataType) throws {
        let folder = try TempFolder()
        let transform = Scenes.northUp(x: 580_000, y: 5_700_000, pixel: 10)
        let path = try Scenes.write(folder.path("scene.tif"), width: 70, height: 50, bands: 4, type: type,
                                    geoTransform: transform, epsg: 32631, nodata: 255, value: Scenes.texture)
        let raster = try Raster(path: path)
        #expect(raster.info.width == 70 && raster.info.height == 50 && raster.info.bandCount == 4)
        #expect(raster.info.dataType == type.rawValue)
        #expect(raster.info.geoTransform.coefficients == transform)
        #expect(raster.info.isGeoreferenced)
        #expect(CoordinateSystem.authorityCode(raster.info.crsWKT) == "EPSG:32631")
        #expect(raster.info.nodata == [255, 255, 255, 255])
        #expect(raster.info.footprint == Box(left: 580_000, top: 5_700_000, right: 580_700, bottom: 5_699_500))
        // An integer window read 1:1 returns the stored values exactly, channel-major.
        let window = PixelWindow(x: 13, y: 7, width: 20, height: 9)
        let values = try raster.read(window: window, outputWidth: 20, outputHeight: 9, resampling: .nearest)
        var expected: [Float] = []
        for b in 0..<4 { for row in 7..<16 { for col in 13..<33 { expected.append(Scenes.texture(b, row, col)) } } }
        #expect(values == expected)
    }

    @Test(arguments: [Resampling.bilinear, .cubic])
    func fractionalWindowOfALinearRampInterpolates(resampling: Resampling) throws {
        let folder = try TempFolder()
        // band 0 = column index, band 1 = 2·row + 5 (linear, so any symmetric kernel reproduces it).
        let path = try Scenes.write(folder.path("ramp.tif"), width: 64, height: 64, bands: 2) { b, row, col in
            b == 0 ? Float(col) : Float(2 * row + 5)
        }
        let raster = try Raster(path: path)
        for (window, side) in [(PixelWindow(x: 20.25, y: 17.5, width: 8, height: 8), 16),   // upsampling
                               (PixelWindow(x: 16.5, y: 20.75, width: 24, height: 24), 12)] { // downsampling
            let values = try raster.read(window: window, outputWidth: side, outputHeight: side, resampling: resampling)
            let scale = window.width / Double(side)
            for i in 0..<side {
                for j in 0..<side {
                    // Output pixel centre (j + ½, i + ½) maps to source coordinate x + (j + ½)·scale; the
                    // value at continuous coordinate u is u − ½ (pixel centres sit at k + ½).
                    let u = window.x + (Double(j) + 0.5) * scale - 0.5
                    let v = window.y + (Double(i) + 0.5) * scale - 0.5
                    #expect(abs(Double(values[i * side + j]) - u) < 1e-3, "band 0 (\(i), \(j)) \(window)")
                    #expect(abs(Double(values[side * side + i * side + j]) - (2 * v + 5)) < 2e-3)
                }
            }
        }
    }

    @Test func worldFileGeoreferencesAPlainRaster() throws {
        let folder = try TempFolder()
        let path = try Scenes.write(folder.path("plain.tif"), width: 40, height: 30, bands: 3, type: .byte,
                                    geoTransform: nil, epsg: nil, value: Scenes.texture)
        // World file: pixel size 2, centre of pixel (0, 0) at (101, 199) -> corner (100, 200).
        try "2.0\n0.0\n0.0\n-2.0\n101.0\n199.0\n".write(toFile: folder.path("plain.tfw"), atomically: true,
                                                         encoding: .utf8)
        let raster = try Raster(path: path)
        #expect(raster.info.isGeoreferenced)
        #expect(raster.info.geoTransform.coefficients == [100, 2, 0, 200, 0, -2])
    }

    @Test(arguments: ["PNG", "VRT"])
    func otherFormatsReadTheSamePixelsAndGeoreferencing(format: String) throws {
        let folder = try TempFolder()
        let transform = Scenes.northUp(x: 10, y: 50, pixel: 0.01)
        let source = try Scenes.write(folder.path("source.tif"), width: 48, height: 40, bands: 3, type: .byte,
                                      geoTransform: transform, epsg: 4326, value: Scenes.texture)
        let copy = folder.path("copy.\(format.lowercased())")
        try RasterWriter.convert(source: source, destination: copy, format: format,
                                 options: format == "PNG" ? ["WORLDFILE": "YES"] : [:])
        if format == "PNG" {   // the PNG carries its georeferencing in a world file only
            #expect(FileManager.default.fileExists(atPath: folder.path("copy.wld")))
            try FileManager.default.removeItem(atPath: copy + ".aux.xml")
        }
        let raster = try Raster(path: copy)
        #expect(raster.info.bandCount == 3 && raster.info.dataType == "Byte")
        #expect(raster.info.isGeoreferenced)
        let coefficients = raster.info.geoTransform.coefficients
        #expect(zip(coefficients, transform).allSatisfy { abs($0 - $1) < 1e-12 })
        let window = PixelWindow(x: 5, y: 3, width: 30, height: 20)
        let expected = try Raster(path: source).read(window: window, outputWidth: 15, outputHeight: 10)
        #expect(try raster.read(window: window, outputWidth: 15, outputHeight: 10) == expected)
    }

    @Test func rasterWithoutGeoreferencingUsesThePixelFrame() throws {
        let folder = try TempFolder()
        let path = try Scenes.write(folder.path("plain.tif"), width: 40, height: 30, bands: 1,
                                    geoTransform: nil, epsg: nil, value: Scenes.texture)
        let raster = try Raster(path: path)
        #expect(!raster.info.isGeoreferenced)
        #expect(raster.info.geoTransform == .pixelFrame)
        #expect(raster.info.nodata == [nil])
    }
}
