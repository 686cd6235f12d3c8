import EOData
import TensorCore
import Testing

@Suite("EOData geometry: boxes, pair frame, IoU, crop recipe")
struct GeometryTests {
    static func randomBox(_ stream: inout RandomStream) -> Box {
        let left = stream.nextUniform(-1000, 1000), bottom = stream.nextUniform(-1000, 1000)
        return Box(left: left, top: bottom + stream.nextUniform(1, 500),
                   right: left + stream.nextUniform(1, 500), bottom: bottom)
    }

    @Test func iouIsSymmetricAndOneForIdentical() {
        var stream = CounterRNG(seed: 1).stream(0)
        for _ in 0..<1000 {
            let a = Self.randomBox(&stream), b = Self.randomBox(&stream)
            #expect(iou(a, b) == iou(b, a))
            #expect(iou(a, a) == 1)
            #expect((0...1).contains(iou(a, b)))
        }
    }

    @Test func iouIsZeroForDisjointAndTouching() {
        let a = Box(left: 0, top: 10, right: 10, bottom: 0)
        #expect(iou(a, Box(left: 20, top: 10, right: 30, bottom: 0)) == 0)
        #expect(iou(a, Box(left: 0, top: -5, right: 10, bottom: -15)) == 0)
        #expect(iou(a, Box(left: 10, top: 10, right: 20, bottom: 0)) == 0)   // shared edge only
    }

    @Test func iouMatchesHandComputedValue() {
        // Two 10x10 squares offset by (5, 5): intersection 25, union 175.
        let a = Box(left: 0, top: 10, right: 10, bottom: 0), b = Box(left: 5, top: 15, right: 15, bottom: 5)
        #expect(abs(iou(a, b) - 25.0 / 175.0) < 1e-15)
        #expect(abs(meanIoU([a, b], index: 0) - 25.0 / 175.0) < 1e-15)
    }

    @Test func pairFrameSpansExactlyTheFrameAndKeepsIoU() {
        var stream = CounterRNG(seed: 2).stream(0)
        for _ in 0..<1000 {
            let boxes = [Self.randomBox(&stream), Self.randomBox(&stream)]
            let framed = pairFrame(boxes)
            #expect(framed.map(\.left).min()! == 0)
            #expect(framed.map(\.bottom).min()! == 0)
            #expect(abs(framed.map(\.right).max()! - 32) < 1e-12)
            #expect(abs(framed.map(\.top).max()! - 32) < 1e-12)
            #expect(framed.allSatisfy { $0.top > $0.bottom && $0.right > $0.left })
            #expect(abs(iou(framed[0], framed[1]) - iou(boxes[0], boxes[1])) < 1e-12)
        }
    }

    @Test func pairFrameOfIdenticalBoxesIsTheFullFrame() {
        let box = Box(left: 500_000, top: 5_700_000, right: 501_280, bottom: 5_698_720)
        #expect(pairFrame([box, box]) == [Box.fullFrame, Box.fullFrame])
    }

    @Test func cropRecipeRespectsItsBounds() {
        let recipe = CropRecipe()
        for (height, width) in [(256.0, 256.0), (800.0, 1200.0), (1200.0, 800.0)] {
            var stream = CounterRNG(seed: 3).stream(UInt32(height), UInt32(width))
            var meanArea = 0.0
            for _ in 0..<5000 {
                let crop = recipe.sample(height: height, width: width, stream: &stream)
                let aspect = crop.width / crop.height
                #expect(aspect >= 0.75 - 1e-9 && aspect <= 4.0 / 3.0 + 1e-9)
                #expect(crop.x >= 0 && crop.y >= 0)
                #expect(crop.x + crop.width <= width + 1e-9 && crop.y + crop.height <= height + 1e-9)
                // h = min(√a·H, W/r, H) with a ≤ 1 means h ≤ H; and h ≥ √0.2·H unless W/r binds.
                #expect(crop.height >= min(0.2.squareRoot() * height, width / aspect) - 1e-9)
                meanArea += crop.width * crop.height / (width * height) / 5000
            }
            #expect(meanArea > 0.3 && meanArea < 0.8)
        }
    }

    /// METHOD.md §1.5: under the crop recipe, pairs from a square source have mean IoU 0.53 (p10 0.27,
    /// p90 0.78) and 0.1 % zero overlap; from an 800 × 1200 source mean 0.38 and 3.6 % zero overlap.
    @Test func pairIoUDistributionMatchesTheMethodsMonteCarlo() {
        let recipe = CropRecipe()
        for (height, width, mean, zero) in [(256.0, 256.0, 0.53, 0.001), (800.0, 1200.0, 0.38, 0.036)] {
            var stream0 = CounterRNG(seed: 11).stream(0, 0, 0), stream1 = CounterRNG(seed: 11).stream(0, 0, 1)
            let count = 100_000
            var values: [Double] = []
            for _ in 0..<count {
                let a = GeoTransform.pixelFrame.box(of: recipe.sample(height: height, width: width, stream: &stream0))
                let b = GeoTransform.pixelFrame.box(of: recipe.sample(height: height, width: width, stream: &stream1))
                values.append(iou(a, b))
            }
            values.sort()
            #expect(abs(values.reduce(0, +) / Double(count) - mean) < 0.01)
            #expect(abs(Double(values.filter { $0 == 0 }.count) / Double(count) - zero) < 0.005)
            if height == width {
                #expect(abs(values[count / 10] - 0.27) < 0.015 && abs(values[9 * count / 10] - 0.78) < 0.015)
            }
        }
    }

    @Test func geoTransformRoundTripsWindowsAndRejectsRotation() throws {
        let transform = try #require(GeoTransform(gdal: [580_000, 10, 0, 5_700_000, 0, -10]))
        let window = PixelWindow(x: 12.5, y: 7.25, width: 64, height: 48)
        let box = transform.box(of: window)
        #expect(box == Box(left: 580_125, top: 5_699_927.5, right: 580_765, bottom: 5_699_447.5))
        #expect(transform.window(of: box) == window)
        #expect(GeoTransform(gdal: [0, 1, 0.1, 0, 0, -1]) == nil)
        #expect(GeoTransform(gdal: [0, 1, 0, 0, 0, 1]) == nil)
    }
}
