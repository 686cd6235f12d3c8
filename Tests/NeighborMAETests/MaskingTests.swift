import NeighborMAE
import TensorCore
import Testing

@Suite("NeighborMAE masking: visible count and mask plans")
struct MaskingTests {
    /// Spec test 2: n = round((1 − mr)·L), n_max at IoU 0, round(9.6) = 10 for the CPU preset at IoU 1.
    @Test func visibleCountFollowsIoU() {
        let cpu = ModelConfig.cpu
        #expect(visibleCount(iou: 0, config: cpu) == cpu.maxVisiblePatches)
        #expect(visibleCount(iou: 0, config: cpu) == 16)
        #expect(visibleCount(iou: 1, config: cpu) == 10)
        #expect(visibleCount(iou: 1, config: .vitB16) == 29 && visibleCount(iou: 0, config: .vitB16) == 49)
        for step in 0...100 {
            let iou = Double(step) / 100
            let ratio = 0.75 + iou * 0.1
            let n = visibleCount(iou: iou, config: cpu)
            #expect(n == Int(((1 - ratio) * 64).rounded(.toNearestOrEven)))
            #expect((10...16).contains(n))
        }
    }

    @Test func visibleCountRoundsHalfToEven() {
        // (1 − 0.8046875)·64 = 12.5 and (1 − 0.7890625)·64 = 13.5 exactly in binary.
        #expect(visibleCount(iou: 0, config: ModelConfig(maskRatioMin: 0.8046875, maskRatioMax: 0.85)) == 12)
        #expect(visibleCount(iou: 0, config: ModelConfig(maskRatioMin: 0.7890625, maskRatioMax: 0.85)) == 14)
    }

    @Test func bothImagesOfASampleGetTheSameCount() {
        let counts = MaskPlan.visibleCounts(ious: [0, 0.5, 1], config: .cpu)
        #expect(counts == [16, 16, 13, 13, 10, 10])
    }

    static func randomPlan(config: ModelConfig = .cpu, ious: [Double] = [0, 0.3, 1], seed: UInt64 = 7) -> MaskPlan {
        let streams = ious.indices.map { CounterRNG(seed: seed).stream(UInt32($0), 99) }
        return MaskPlan(streams: streams, visibleCounts: MaskPlan.visibleCounts(ious: ious, config: config),
                        config: config)
    }

    @Test func planIndicesAreConsistent() {
        let plan = Self.randomPlan()
        let l = 64, nMax = 16, images = 6
        let kept = plan.keptIndices, valid = plan.keyValid, visible = plan.patchVisible
        #expect(plan.shuffle.count == images * l && kept.count == images * nMax && valid.count == images * nMax)
        for image in 0..<images {
            let shuffle = plan.shuffle[(image * l)..<((image + 1) * l)].map(Int.init)
            #expect(shuffle.sorted() == Array(0..<l))
            for rank in 0..<l { #expect(plan.restore[image * l + shuffle[rank]] == Int32(rank)) }
            #expect(Array(kept[(image * nMax)..<((image + 1) * nMax)].map(Int.init)) == Array(shuffle.prefix(nMax)))
            let n = plan.visibleCounts[image]
            #expect(valid[(image * nMax)..<((image + 1) * nMax)].filter { $0 }.count == n)
            let visibleSet = Set((0..<l).filter { visible[image * l + $0] })
            #expect(visibleSet == Set(shuffle.prefix(n)))
        }
        #expect(plan.keptRows == kept.indices.map { Int32(($0 / nMax) * l) + kept[$0] })
        #expect(plan.shuffledRows == plan.shuffle.indices.map { Int32(($0 / l) * l) + plan.shuffle[$0] })
        #expect(plan.encoderKeyMask.count == 3 * (1 + 2 * nMax))
        #expect(plan.encoderKeyMask.enumerated().filter { $0.offset % 33 == 0 }.allSatisfy { $0.element })
        #expect(plan.encoderKeyMask.filter { $0 }.count == 3 + plan.visibleCounts.reduce(0, +))
    }

    @Test func pixelVisibilityRepeatsPatchVisibility() {
        let plan = Self.randomPlan()
        let geometry = PatchGeometry(ModelConfig.cpu)
        let pixels = plan.pixelVisibility(geometry: geometry)
        #expect(pixels.shape == [3, 2, 64, 64])
        let visible = plan.patchVisible
        for image in 0..<6 {
            for y in 0..<64 {
                for x in 0..<64 {
                    let patchVisible: Bool = visible[image * 64 + (y / 8) * 8 + x / 8]
                    let pixel: Float = pixels[image / 2, image % 2, y, x]
                    if pixel != (patchVisible ? 1 : 0) { Issue.record("pixel (\(image), \(y), \(x)) disagrees") }
                }
            }
        }
        #expect(pixels.scalars.reduce(0, +) == Float(plan.visibleCounts.reduce(0, +) * 64))
        #expect(plan.maskedPixelCount(patchSize: 8) == pixels.scalars.filter { $0 == 0 }.count)
    }

    @Test func plansAreDeterministicPerStream() {
        #expect(Self.randomPlan(seed: 7) == Self.randomPlan(seed: 7))
        #expect(Self.randomPlan(seed: 7).shuffle != Self.randomPlan(seed: 8).shuffle)
        let plan = Self.randomPlan()
        // The two images of a sample use different noise.
        #expect(plan.shuffle[0..<64] != plan.shuffle[64..<128])
    }

    @Test func givenShuffleIsKept() {
        let config = ModelConfig(imageSize: 16, patchSize: 4)
        let reversed: [Int32] = (0..<16).map { Int32(15 - $0) }
        let strided: [Int32] = (0..<16).map { Int32(($0 * 5) % 16) }
        let shuffle = reversed + strided
        let plan = MaskPlan(shuffle: shuffle, visibleCounts: [3, 3], batchSize: 1, config: config)
        #expect(plan.shuffle == shuffle && plan.maxVisible == 4)
        #expect(plan.keptIndices == [15, 14, 13, 12, 0, 5, 10, 15])
        #expect(plan.keyValid == [true, true, true, false, true, true, true, false])
        #expect((0..<16).filter { plan.patchVisible[$0] } == [13, 14, 15])
        #expect((0..<16).filter { plan.patchVisible[16 + $0] } == [0, 5, 10])
    }
}
