import NeighborMAE
import TensorCore
import Testing
import TestSupport

@Suite("NeighborMAE patchify / unpatchify")
struct PatchifyTests {
    static let geometries = [PatchGeometry(channels: 3, imageSize: 16, patchSize: 4),
                             PatchGeometry(channels: 1, imageSize: 6, patchSize: 3),
                             PatchGeometry(channels: 5, imageSize: 8, patchSize: 8)]

    @Test(arguments: geometries)
    func layoutIsNCHPWQtoNHWPQC(_ geometry: PatchGeometry) {
        let (c, t, p, g) = (geometry.channels, geometry.imageSize, geometry.patchSize, geometry.gridSize)
        let images = randomTensor([2, 3, c, t, t], tag: 1)
        let patches = patchify(images, patchSize: p)
        #expect(patches.shape == [2, 3, g * g, p * p * c])
        for b in 0..<2 {
            for k in 0..<3 {
                for ch in 0..<c {
                    for y in 0..<t {
                        for x in 0..<t where patches[b, k, (y / p) * g + x / p, ((y % p) * p + x % p) * c + ch]
                            != images[b, k, ch, y, x] {
                            Issue.record("patch element of pixel (\(b), \(k), \(ch), \(y), \(x)) differs")
                        }
                    }
                }
            }
        }
    }

    @Test(arguments: geometries)
    func roundTripsAreExact(_ geometry: PatchGeometry) {
        let images = randomTensor([3, geometry.channels, geometry.imageSize, geometry.imageSize], tag: 2)
        let patches = patchify(images, patchSize: geometry.patchSize)
        expectBitwiseEqual(unpatchify(patches, geometry: geometry).scalars, images.scalars, "unpatchify ∘ patchify")
        let other = randomTensor(patches.shape, tag: 3)
        expectBitwiseEqual(patchify(unpatchify(other, geometry: geometry), patchSize: geometry.patchSize).scalars,
                           other.scalars, "patchify ∘ unpatchify")
    }

    /// Each backward is the other map, accumulating: dX = base + unpatchify(dP), dP = base + patchify(dX).
    @Test(arguments: geometries)
    func backwardsAccumulateTheInverseMap(_ geometry: PatchGeometry) {
        let n = 2, count = n * geometry.imageElements
        let dPatches = randomValues(count, tag: 4), base = randomValues(count, tag: 5)
        var dImages = base
        dPatches.withUnsafeBufferPointer { dp in
            dImages.withUnsafeMutableBufferPointer { patchifyBackward(dPatches: dp, dImages: $0, imageCount: n,
                                                                      geometry: geometry) }
        }
        let unpatched = unpatchify(Tensor(shape: [n, geometry.patchesPerImage, geometry.patchDimension],
                                          values: dPatches), geometry: geometry).scalars
        expectBitwiseEqual(dImages, zip(base, unpatched).map(+), "patchifyBackward")

        var dP = base
        dPatches.withUnsafeBufferPointer { di in
            dP.withUnsafeMutableBufferPointer { unpatchifyBackward(dImages: di, dPatches: $0, imageCount: n,
                                                                   geometry: geometry) }
        }
        let patched = patchify(Tensor(shape: [n, geometry.channels, geometry.imageSize, geometry.imageSize],
                                      values: dPatches), patchSize: geometry.patchSize).scalars
        expectBitwiseEqual(dP, zip(base, patched).map(+), "unpatchifyBackward")
    }

    @Test func independentOfThreadCount() {
        let images = randomTensor([4, 2, 3, 16, 16], tag: 6)
        let pool = ThreadPool(threadCount: 2)
        expectBitwiseEqual(patchify(images, patchSize: 4, pool: pool).scalars, patchify(images, patchSize: 4).scalars,
                           "patchify with 2 threads")
    }
}
