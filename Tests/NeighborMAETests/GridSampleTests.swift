import NeighborMAE
import TensorCore
import Testing
import TestSupport

@Suite("NeighborMAE grid_sample (PyTorch align_corners=False, zeros padding)")
struct GridSampleTests {
    static func sampleReference(_ input: [Float], c: Int, h: Int, w: Int, grid: [Double], outH: Int, outW: Int,
                                nearest: Bool) -> [Float] {
        var out = [Float](repeating: .nan, count: c * outH * outW)
        input.withUnsafeBufferPointer { i in
            grid.withUnsafeBufferPointer { g in
                out.withUnsafeMutableBufferPointer { o in
                    if nearest {
                        gridSampleNearestReference(input: i, channels: c, height: h, width: w, grid: g,
                                                   outHeight: outH, outWidth: outW, output: o)
                    } else {
                        gridSampleBilinearReference(input: i, channels: c, height: h, width: w, grid: g,
                                                    outHeight: outH, outWidth: outW, output: o)
                    }
                }
            }
        }
        return out
    }

    static func sampleFast(_ input: [Float], c: Int, h: Int, w: Int, grid: SeparableGrid, nearest: Bool) -> [Float] {
        var out = [Float](repeating: .nan, count: c * grid.ys.count * grid.xs.count)
        input.withUnsafeBufferPointer { i in
            out.withUnsafeMutableBufferPointer { o in
                if nearest {
                    gridSampleNearest(input: i, channels: c, height: h, width: w, grid: grid, output: o)
                } else {
                    gridSampleBilinear(input: i, channels: c, height: h, width: w, grid: grid, output: o)
                }
            }
        }
        return out
    }

    /// Hand-computed values on a 2 × 4 image: ix = ((x + 1)·4 − 1)/2, iy = ((y + 1)·2 − 1)/2.
    @Test func referenceMatchesHandComputedPyTorchValues() {
        let image: [Float] = [1, 2, 3, 4,
                              5, 6, 7, 8]
        // (x, y) → (ix, iy): (0, 0) → (1.5, 0.5); (−1, −1) → (−0.5, −0.5); (0.5, 0.5) → (2.5, 1);
        // (0.25, −1) → (2, −0.5).
        let grid: [Double] = [0, 0, -1, -1, 0.5, 0.5, 0.25, -1]
        let bilinear = Self.sampleReference(image, c: 1, h: 2, w: 4, grid: grid, outH: 1, outW: 4, nearest: false)
        // (2 + 3 + 6 + 7)/4; only pixel (0, 0) with weight 1/4; between 7 and 8; half of pixel (0, 2).
        expectClose(bilinear, [4.5, 0.25, 7.5, 1.5] as [Double], atol: 1e-6, rtol: 0, "bilinear")
        let nearest = Self.sampleReference(image, c: 1, h: 2, w: 4, grid: grid, outH: 1, outW: 4, nearest: true)
        // Half to even: (2, 0) = 3; (−0, −0) = (0, 0) = 1; (2, 1) = 7; (2, −0) = 3.
        #expect(nearest == [3, 1, 7, 3])
    }

    @Test func outsideTheImageIsZero() {
        let image: [Float] = [1, 2, 3, 4]
        let grid: [Double] = [2, 0, 0, -1.75, -1.5, -1.5, 1.5, 1.5]
        #expect(Self.sampleReference(image, c: 1, h: 2, w: 2, grid: grid, outH: 2, outW: 2, nearest: false)
                    == [0, 0, 0, 0])
        #expect(Self.sampleReference(image, c: 1, h: 2, w: 2, grid: grid, outH: 2, outW: 2, nearest: true)
                    == [0, 0, 0, 0])
    }

    /// The separable fast path computes the reference's expressions in the same order: bitwise equal,
    /// on grids that run past every border (taps partly and fully outside).
    @Test(arguments: [(1, 5, 7, 4, 6), (3, 16, 16, 16, 16), (2, 9, 4, 11, 3)])
    func separableMatchesReferenceBitwise(_ c: Int, _ h: Int, _ w: Int, _ outH: Int, _ outW: Int) {
        let image = randomValues(c * h * w, tag: 10)
        var stream = CounterRNG(seed: 3).stream(11)
        let grid = SeparableGrid(xs: (0..<outW).map { _ in stream.nextUniform(-1.4, 1.4) },
                                 ys: (0..<outH).map { _ in stream.nextUniform(-1.4, 1.4) })
        for nearest in [false, true] {
            expectBitwiseEqual(Self.sampleFast(image, c: c, h: h, w: w, grid: grid, nearest: nearest),
                               Self.sampleReference(image, c: c, h: h, w: w, grid: grid.dense, outH: outH,
                                                    outW: outW, nearest: nearest),
                               "separable vs reference, nearest \(nearest)")
        }
    }

    @Test func pixelCentreGridIsTheIdentity() {
        let t = 8
        let centres = (0..<t).map { Double(2 * $0 + 1) / Double(t) - 1 }
        let image = randomValues(2 * t * t, tag: 12)
        let grid = SeparableGrid(xs: centres, ys: centres)
        expectBitwiseEqual(Self.sampleFast(image, c: 2, h: t, w: t, grid: grid, nearest: false), image, "bilinear")
        expectBitwiseEqual(Self.sampleFast(image, c: 2, h: t, w: t, grid: grid, nearest: true), image, "nearest")
    }
}
