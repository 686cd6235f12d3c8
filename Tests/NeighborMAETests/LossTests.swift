import NeighborMAE
import TensorCore
import Testing
import TestSupport

@Suite("NeighborMAE loss: targets, weights, spec test 4")
struct LossTests {
    static let batches: [[TileBox]] = [LossBatch.overlapping + LossBatch.partial + LossBatch.disjoint,
                                       LossBatch.partial, LossBatch.overlapping]

    /// Every output against the Double-precision naive loss (tolerances: float32 storage of t, x̃ and w).
    @Test(arguments: 0..<batches.count, [true, false])
    func matchesNaiveReference(_ index: Int, _ normPix: Bool) {
        var config = LossBatch.config
        config.normPixLoss = normPix
        let batch = LossBatch(boxes: Self.batches[index], config: config, seed: UInt32(index))
        let output = batch.forward()
        let naive = NaiveLoss(pred: batch.pred.scalars, images: batch.images.scalars,
                              visibility: batch.visibility.scalars, boxes: batch.boxes, config: config)
        expectClose(output.target.scalars, naive.target, atol: 1e-6, rtol: 1e-6, "target")
        expectClose(output.imageProjection.scalars, naive.projection, atol: 1e-6, rtol: 0, "image_proj")
        expectClose(output.visibleProjection.scalars, naive.visibleProjection, atol: 0, rtol: 0, "vis_proj")
        expectClose(output.weight.scalars, naive.weight, atol: 1e-5, rtol: 0, "weight")
        expectClose([output.weighted, output.plain], [naive.weighted, naive.plain], atol: 0, rtol: 1e-5, "losses")
        #expect(output.weighted < output.plain)         // some masked pixels are copyable from the neighbour
        let floatBoxes = TileBox.boxes(from: batch.boxTensor!)      // the same (float-rounded) boxes as a list
        let fromList = neighborLossForward(pred: batch.pred, images: batch.images, visibility: batch.visibility,
                                           boxes: floatBoxes, config: config)
        #expect(fromList.weighted == output.weighted)
        expectBitwiseEqual(fromList.weight.scalars, output.weight.scalars, "weights from a box list")
    }

    /// Norm-pix: each target patch has mean 0 and unbiased variance σ²/(σ² + 1e-6), also for nearly flat patches.
    @Test func normPixTargetStatistics() {
        let config = LossBatch.config, t = 16, p = 4
        let noise = randomValues(2 * 3 * t * t, tag: 50)
        // Patch-dependent amplitude from 1 down to 1e-4 (σ² ≈ 3e-9: there the 1e-6 dominates).
        let images = noise.indices.map { index -> Float in
            let pixel = index % (t * t), patch = (pixel / t / p) * 4 + (pixel % t) / p
            return 0.3 + noise[index] * Float([1, 0.1, 1e-2, 1e-3, 1e-4][patch % 5])
        }
        let batch = LossBatch(boxes: LossBatch.overlapping)
        let output = neighborLossForward(pred: batch.pred, images: Tensor(shape: [1, 2, 3, t, t], values: images),
                                         visibility: batch.visibility, boxes: batch.boxTensor, config: config)
        let target = output.target.scalars
        for n in 0..<2 {
            for patch in 0..<16 {
                let (i, j) = patch.quotientAndRemainder(dividingBy: 4)
                var x: [Double] = [], y: [Double] = []
                for c in 0..<3 { for r in 0..<p { for s in 0..<p {
                    let at = ((n * 3 + c) * t + i * p + r) * t + j * p + s
                    x.append(Double(images[at]))
                    y.append(Double(target[at]))
                } } }
                let vx = Self.meanAndUnbiasedVariance(x).1, (my, vy) = Self.meanAndUnbiasedVariance(y)
                #expect(abs(my) < 1e-6, "image \(n) patch \(patch): target mean \(my)")
                let expected = vx / (vx + 1e-6)
                #expect(abs(vy - expected) <= 1e-5 * expected + 1e-9, "image \(n) patch \(patch): \(vy) vs \(expected)")
            }
        }
    }

    static func meanAndUnbiasedVariance(_ values: [Double]) -> (Double, Double) {
        let mean = values.reduce(0, +) / Double(values.count)
        return (mean, values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1))
    }

    @Test func withoutNormPixTheTargetIsTheImage() {
        var config = LossBatch.config
        config.normPixLoss = false
        let batch = LossBatch(boxes: LossBatch.partial, config: config)
        expectBitwiseEqual(batch.forward().target.scalars, batch.images.scalars, "target")
    }

    /// Spec test 4: weights in [0, 1], 0 on the image's own visible pixels.
    @Test(arguments: 0..<batches.count)
    func weightsAreInUnitRangeAndZeroWhereVisible(_ index: Int) {
        let batch = LossBatch(boxes: Self.batches[index], seed: UInt32(index))
        let output = batch.forward()
        let w = output.weight.scalars, visible = batch.visibility.scalars
        #expect(w.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(zip(w, visible).allSatisfy { $1 == 0 || $0 == 0 })
        #expect(output.invisibleCount == visible.filter { $0 == 0 }.count)
        #expect(zip(w, visible).contains { $1 == 0 && $0 < 0.5 })     // down-weighting happens somewhere
    }

    /// Spec test 4: a pair that does not overlap gets w = 1 on every masked pixel and L_weighted == L_plain.
    @Test func disjointPairGivesThePlainLoss() {
        let batch = LossBatch(boxes: LossBatch.disjoint)
        let output = batch.forward()
        #expect(output.weighted == output.plain)
        expectBitwiseEqual(output.weight.scalars, batch.visibility.scalars.map { 1 - $0 }, "w = 1 − visible")
        #expect(output.visibleProjection.scalars.allSatisfy { $0 == 0 })
    }

    /// Spec test 4: a fully masked neighbour reveals nothing: w = 1 on the image's masked pixels; with both
    /// images of every pair fully masked, L_weighted == L_plain.
    @Test func fullyMaskedNeighbourGivesThePlainLoss() {
        var batch = LossBatch(boxes: LossBatch.overlapping + LossBatch.partial)
        let plane = 16 * 16
        var visibility = batch.visibility.scalars
        for n in [1, 2] { for pixel in 0..<plane { visibility[n * plane + pixel] = 0 } }   // neighbours of 0 and 3
        batch.visibility = Tensor(shape: batch.visibility.shape, values: visibility)
        let w = batch.forward().weight.scalars
        for n in [0, 3] {
            expectBitwiseEqual(Array(w[(n * plane)..<((n + 1) * plane)]),
                               visibility[(n * plane)..<((n + 1) * plane)].map { 1 - $0 }, "image \(n)")
        }
        batch.visibility = Tensor(zeros: batch.visibility.shape)
        let output = batch.forward()
        #expect(output.weighted == output.plain && output.invisibleCount == 4 * plane)
    }

    /// A neighbour that is the same image at the same box, fully visible, makes every masked pixel copyable:
    /// e_proj ≈ 0, so w ≈ 0 and the weighted loss all but vanishes.
    @Test func copyableNeighbourIsDownWeighted() {
        var batch = LossBatch(boxes: [LossBatch.partial[0], LossBatch.partial[0]])
        let plane = 16 * 16, size = 3 * plane
        let images = batch.images.scalars
        batch.images = Tensor(shape: batch.images.shape, values: Array(images[0..<size]) + Array(images[0..<size]))
        let ownVisibility = Array(batch.visibility.scalars[0..<plane])
        batch.visibility = Tensor(shape: batch.visibility.shape,
                                  values: ownVisibility + [Float](repeating: 1, count: plane))
        let output = batch.forward()
        #expect(output.plain > 0.1 && output.weighted < 1e-9 * output.plain)
        #expect(output.visibleProjection.scalars[0..<plane].allSatisfy { $0 == 1 })
    }

    /// K = 1 (MAE baseline): no projection, w = 1 − visible, L_weighted == L_plain.
    @Test func singleImageBaselineIsPlainMAE() {
        var config = LossBatch.config
        config.imagesPerSample = 1
        let batch = LossBatch(boxes: [.fullFrame, .fullFrame, .fullFrame], config: config)
        let output = batch.forward()
        #expect(output.weighted == output.plain && output.plain > 0)
        expectBitwiseEqual(output.weight.scalars, batch.visibility.scalars.map { 1 - $0 }, "w = 1 − visible")
        #expect(output.imageProjection.scalars.allSatisfy { $0 == 0 })
        let naive = NaiveLoss(pred: batch.pred.scalars, images: batch.images.scalars,
                              visibility: batch.visibility.scalars, boxes: [], config: config)
        expectClose([output.plain], [naive.plain], atol: 0, rtol: 1e-6, "plain loss")
    }
}
