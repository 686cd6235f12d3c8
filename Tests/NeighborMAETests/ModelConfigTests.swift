import Foundation
import NeighborMAE
import Testing

@Suite("NeighborMAE config: presets, derived sizes, validation")
struct ModelConfigTests {
    @Test func cpuPresetSizes() throws {
        let config = ModelConfig.cpu
        try config.validate()
        #expect(config == ModelConfig())
        #expect(config.gridSize == 8 && config.patchesPerImage == 64 && config.patchDimension == 192)
        #expect(config.maxVisiblePatches == 16)          // round(0.25 · 64)
        #expect(config.minVisiblePatches == 10)          // round(9.6), METHOD.md §10
        #expect(config.encoderSequenceLength == 33 && config.decoderSequenceLength == 129)
        #expect(config.weightKernel == 5 && config.weightPadding == 2)
    }

    @Test func vitB16PresetSizes() throws {
        let config = ModelConfig.vitB16
        try config.validate()
        #expect(config.gridSize == 14 && config.patchesPerImage == 196 && config.patchDimension == 768)
        #expect(config.maxVisiblePatches == 49 && config.minVisiblePatches == 29)   // round(29.4)
        #expect(config.encoderSequenceLength == 99 && config.decoderSequenceLength == 393)   // METHOD.md §2.3
        #expect(config.encoderWidth == 768 && config.encoderDepth == 12 && config.encoderHeads == 12)
        #expect(config.decoderWidth == 512 && config.decoderDepth == 8 && config.decoderHeads == 16)
        #expect(config.weightKernel == 9 && config.weightPadding == 4)
    }

    @Test func codableRoundTrip() throws {
        var config = ModelConfig.vitB16
        config.imagesPerSample = 1
        let data = try JSONEncoder().encode(config)
        #expect(try JSONDecoder().decode(ModelConfig.self, from: data) == config)
    }

    static let invalid: [(String, ModelConfig)] = [
        ("imageSize/patchSize", ModelConfig(imageSize: 60)),
        ("imagesPerSample", ModelConfig(imagesPerSample: 3)),
        ("encoderWidth", ModelConfig(encoderWidth: 100, encoderHeads: 4)),
        ("decoderWidth", ModelConfig(decoderWidth: 8, decoderHeads: 1)),
        ("encoderWidth/encoderHeads", ModelConfig(encoderHeads: 5)),
        ("decoderDepth", ModelConfig(decoderDepth: 0)),
        ("maskRatioMin/maskRatioMax", ModelConfig(maskRatioMin: 0.9, maskRatioMax: 0.8)),
        ("maskRatioMax", ModelConfig(maskRatioMax: 0.995)),
        ("weightKernel", ModelConfig(weightKernel: 4)),
        ("weightEpsilon", ModelConfig(weightEpsilon: -1)),
        ("normPixLoss", ModelConfig(imageSize: 8, patchSize: 1, channels: 1)),
    ]

    @Test(arguments: 0..<invalid.count)
    func invalidConfigThrowsTypedErrorWithHint(_ index: Int) {
        let (field, config) = Self.invalid[index]
        #expect {
            try config.validate()
        } throws: { error in
            guard let error = error as? ModelConfigError else { return false }
            return error.field == field && !error.hint.isEmpty && error.description.contains("hint: ")
        }
    }

    @Test func roundHalfToEvenMatchesTorchRound() {
        #expect([0.5, 1.5, 2.5, 9.6, 29.4, -0.5].map(roundHalfToEven) == [0, 2, 2, 10, 29, 0])
    }
}
