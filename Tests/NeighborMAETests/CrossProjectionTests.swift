import Foundation
import NeighborMAE
import TensorCore
import Testing
import TestSupport

@Suite("NeighborMAE cross-projection (spec test 3)")
struct CrossProjectionTests {
    static func boxTensor(_ boxes: [TileBox]) -> Tensor {
        Tensor(shape: [boxes.count / 2, 2, 4], values: boxValues(boxes))
    }

    static func project(_ images: [Float], _ visibility: [Float], _ boxes: [TileBox], c: Int, t: Int,
                        pool: ThreadPool? = nil) -> (image: [Float], visible: [Float]) {
        let b = boxes.count / 2
        let result = crossProject(images: Tensor(shape: [b, 2, c, t, t], values: images),
                                  visibility: Tensor(shape: [b, 2, t, t], values: visibility),
                                  boxes: boxTensor(boxes), pool: pool)
        return (result.image.scalars, result.visible.scalars)
    }

    /// Identical boxes: the grid is the pixel centres, so each image receives its neighbour unchanged.
    @Test(arguments: [12, 16, 13])
    func identicalBoxesReturnTheNeighbour(_ t: Int) {
        let c = 3, box = TileBox(left: 3.5, top: 30, right: 19.25, bottom: 11)
        let images = randomValues(2 * c * t * t, tag: 20)
        let visibility = randomValues(2 * t * t, tag: 21).map { $0 > 0 ? Float(1) : 0 }
        let (image, visible) = Self.project(images, visibility, [box, box], c: c, t: t)
        let size = c * t * t
        expectBitwiseEqual(Array(image[0..<size]), Array(images[size...]), "x̃_0 = x_1")
        expectBitwiseEqual(Array(image[size...]), Array(images[0..<size]), "x̃_1 = x_0")
        expectBitwiseEqual(Array(visible[0..<(t * t)]), Array(visibility[(t * t)...]), "vis̃_0 = vis_1")
        expectBitwiseEqual(Array(visible[(t * t)...]), Array(visibility[0..<(t * t)]), "vis̃_1 = vis_0")
    }

    static let shiftedPairs: [(TileBox, TileBox)] = [
        (TileBox(left: 4, top: 28, right: 20, bottom: 12), TileBox(left: 9.3, top: 30.7, right: 27.1, bottom: 6.6)),
        (TileBox(left: 0, top: 32, right: 21.7, bottom: 9.1), TileBox(left: 13.2, top: 24.3, right: 32, bottom: 0)),
    ]

    /// Shifted / rescaled boxes: where all four bilinear taps of a pixel lie inside the neighbour, x̃ matches
    /// the shared world rendered directly into the image, within the bilinear interpolation bound for the
    /// neighbour's pixel size (plus 1e-6 for float32 storage of the renders and the result).
    @Test(arguments: 0..<shiftedPairs.count)
    func shiftedBoxesMatchTheSharedWorld(_ index: Int) {
        let (boxA, boxB) = Self.shiftedPairs[index]
        let c = 3, t = 32, world = World(channels: c)
        let images = world.render(boxA, size: t) + world.render(boxB, size: t)
        let (image, _) = Self.project(images, [Float](repeating: 1, count: 2 * t * t), [boxA, boxB], c: c, t: t)
        for (k, own, other) in [(0, boxA, boxB), (1, boxB, boxA)] {
            var checked = 0
            for i in 0..<t {
                for j in 0..<t {
                    let (x, y) = World.centre(own, i, j, t)
                    let ix = (x - other.left) / other.width * Double(t) - 0.5     // neighbour pixel coordinates
                    let iy = (other.top - y) / other.height * Double(t) - 0.5
                    guard ix >= 0, ix <= Double(t - 1), iy >= 0, iy <= Double(t - 1) else { continue }
                    checked += 1
                    for ch in 0..<c {
                        let bound = world.bilinearErrorBound(ch, hx: other.width / Double(t),
                                                             hy: other.height / Double(t)) + 1e-6
                        let got = Double(image[((k * c + ch) * t + i) * t + j]), truth = world.value(ch, x, y)
                        if abs(got - truth) > bound {
                            Issue.record("image \(k) pixel (\(i), \(j)) channel \(ch): \(got) vs \(truth)")
                        }
                    }
                }
            }
            #expect(checked > t * t / 8, "overlap interior of image \(k) has only \(checked) pixels")
        }
    }

    /// vis̃ is the visibility of the neighbour pixel containing the ground point, and false outside it.
    @Test(arguments: 0..<shiftedPairs.count)
    func projectedVisibilityIsTheContainingNeighbourPixel(_ index: Int) {
        let (boxA, boxB) = Self.shiftedPairs[index]
        let t = 16
        let visibility = randomValues(2 * t * t, tag: 22).map { $0 > 0.2 ? Float(1) : 0 }
        let (_, visible) = Self.project([Float](repeating: 0, count: 2 * t * t), visibility, [boxA, boxB], c: 1, t: t)
        var inside = 0, outside = 0
        for (k, own, other) in [(0, boxA, boxB), (1, boxB, boxA)] {
            for i in 0..<t {
                for j in 0..<t {
                    let (x, y) = World.centre(own, i, j, t)
                    let u = (x - other.left) / other.width * Double(t), v = (other.top - y) / other.height * Double(t)
                    let column = Int(u.rounded(.down)), row = Int(v.rounded(.down))
                    let expected: Float
                    if (0..<t).contains(column) && (0..<t).contains(row) {
                        expected = visibility[((1 - k) * t + row) * t + column]
                        inside += 1
                    } else {
                        expected = 0
                        outside += 1
                    }
                    #expect(visible[(k * t + i) * t + j] == expected, "image \(k) pixel (\(i), \(j))")
                }
            }
        }
        #expect(inside > 0 && outside > 0)
    }

    /// Disjoint and edge-touching pairs: no pixel of either image sees the neighbour.
    @Test(arguments: [TileBox(left: 17, top: 32, right: 32, bottom: 20),
                      TileBox(left: 16, top: 16, right: 32, bottom: 0)])
    func disjointPairsSeeNothing(_ other: TileBox) {
        let box = TileBox(left: 0, top: 32, right: 16, bottom: 16), t = 16
        let ones = [Float](repeating: 1, count: 2 * t * t)
        let (_, visible) = Self.project(ones, ones, [box, other], c: 1, t: t)
        #expect(visible.allSatisfy { $0 == 0 })
    }

    @Test func independentOfThreadCount() {
        let (boxA, boxB) = Self.shiftedPairs[0]
        let c = 3, t = 16
        let images = randomValues(4 * c * t * t, tag: 23)
        let visibility = randomValues(4 * t * t, tag: 24).map { $0 > 0 ? Float(1) : 0 }
        let boxes = [boxA, boxB, boxB, boxA]
        let one = Self.project(images, visibility, boxes, c: c, t: t)
        let two = Self.project(images, visibility, boxes, c: c, t: t, pool: ThreadPool(threadCount: 2))
        expectBitwiseEqual(two.image, one.image, "x̃ with 2 threads")
        expectBitwiseEqual(two.visible, one.visible, "vis̃ with 2 threads")
    }
}
