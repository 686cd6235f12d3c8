import Foundation
import NeighborMAE
import TensorCore
import Testing
import TestSupport

@Suite("NeighborMAE four-edge sin-cos position embedding")
struct PositionEmbeddingTests {
    /// enc(c) written out from METHOD.md §3 with s = width/8 and ω_m = 10000^(−m/(s−1)).
    static func encode(_ c: Double, width: Int) -> [Double] {
        let s = width / 8
        let omegas = (0..<s).map { 1 / pow(10_000, Double($0) / Double(s - 1)) }
        return omegas.map { sin(c * $0) } + omegas.map { cos(c * $0) }
    }

    /// Spec test 5: the single full-frame image's table equals the grid table with x edges 0…32 and
    /// y edges from 32 down to 0 (what the conversion to a plain ViT builds).
    @Test(arguments: [(8, 192), (8, 128), (14, 768), (4, 16)])
    func fullFrameTableEqualsGridTable(_ gridSize: Int, _ width: Int) {
        let table = fourEdgePositionTable(gridSize: gridSize, width: width)
        #expect(table.shape == [gridSize * gridSize, width])
        var expected: [Double] = []
        let step = 32 / Double(gridSize)
        for i in 0..<gridSize {
            for j in 0..<gridSize {
                let (l, r) = (Double(j) * step, Double(j + 1) * step)
                let (t, b) = (32 - Double(i) * step, 32 - Double(i + 1) * step)
                expected += [l, t, r, b].flatMap { Self.encode($0, width: width) }
            }
        }
        // Vertices come from (right − left)/G vs 32/G: equal up to Double rounding, so at most 1 float ulp.
        expectClose(table.scalars, expected, atol: 1.2e-7, rtol: 0, "full-frame table G=\(gridSize) D=\(width)")
    }

    @Test func batchMatchesPerBoxFormula() {
        let boxes: [Float] = [3, 30, 21, 9.5, 0, 20, 32, 0, 12.25, 32, 28, 17, 1, 2, 3, 1]
        let width = 32, g = 4
        let embedding = fourEdgePositionEmbedding(boxes: Tensor(shape: [2, 2, 4], values: boxes), gridSize: g,
                                                  width: width, pool: ThreadPool(threadCount: 2))
        #expect(embedding.shape == [2, 2, g * g, width])
        var expected: [Double] = []
        for n in 0..<4 {
            let (left, top, right, bottom) = (Double(boxes[4 * n]), Double(boxes[4 * n + 1]),
                                              Double(boxes[4 * n + 2]), Double(boxes[4 * n + 3]))
            let xs = (0...g).map { left + Double($0) * (right - left) / Double(g) }
            let ys = (0...g).map { top + Double($0) * (bottom - top) / Double(g) }
            for i in 0..<g {
                for j in 0..<g {
                    expected += [xs[j], ys[i], xs[j + 1], ys[i + 1]].flatMap { Self.encode($0, width: width) }
                }
            }
        }
        expectClose(embedding.scalars, expected, atol: 1.2e-7, rtol: 0, "batch embedding")
        let list = (0..<4).map { n in
            TileBox(left: Double(boxes[4 * n]), top: Double(boxes[4 * n + 1]), right: Double(boxes[4 * n + 2]),
                    bottom: Double(boxes[4 * n + 3]))
        }
        let fromList = fourEdgePositionEmbedding(boxes: list, imagesPerSample: 2, gridSize: g, width: width)
        #expect(fromList.shape == embedding.shape)
        expectBitwiseEqual(fromList.scalars, embedding.scalars, "embedding from a box list")
    }

    @Test func frequenciesRunFromOneToTenThousandth() {
        let omegas = sinCosFrequencies(count: 24)
        #expect(omegas.first == 1 && abs(omegas.last! - 1e-4) < 1e-18)
        #expect(zip(omegas, omegas.dropFirst()).allSatisfy { $0 > $1 })
    }

    @Test func sinAndCosHalvesArePaired() {
        let table = fourEdgePositionTable(box: TileBox(left: 5, top: 25, right: 15, bottom: 3), gridSize: 8,
                                          width: 64).scalars
        let s = 8
        for row in 0..<64 {
            for edge in 0..<4 {
                for m in 0..<s {
                    let sine = table[row * 64 + edge * 2 * s + m], cosine = table[row * 64 + edge * 2 * s + s + m]
                    #expect(abs(sine * sine + cosine * cosine - 1) < 1e-6)
                }
            }
        }
    }
}
