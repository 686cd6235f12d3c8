import Foundation
import Testing
import Training

/// run.yaml: partial configs over the defaults, with errors that name the key.
@Suite("Training config files")
struct TrainingConfigFileTests {
    @Test("keys override the defaults, nested ones too; the rest keeps its default")
    func partialOverride() throws {
        let config = try TrainingConfig.parse(yaml: """
            steps: 40
            peakLearningRate: 1        # an integer where a float is expected is fine
            model: { encoderDepth: 2 }
            pairs:
              siteSize: 96
            sources: [a.tif, b.tif]
            """)
        var expected = TrainingConfig()
        expected.steps = 40
        expected.peakLearningRate = 1
        expected.model.encoderDepth = 2
        expected.pairs.siteSize = 96
        expected.sources = ["a.tif", "b.tif"]
        #expect(config == expected)
    }

    @Test("the resolved YAML reads back to the same configuration")
    func roundTrip() throws {
        var config = TrainingConfig()
        config.seed = 42
        config.model.encoderWidth = 96
        config.objective = .plain
        #expect(try TrainingConfig.parse(yaml: config.yaml()) == config)
        #expect(try TrainingConfig.parse(yaml: "") == TrainingConfig())
    }

    @Test("unknown keys, wrong types, invalid values and non-mappings are refused by name",
          arguments: [
              ("stpes: 3", "unknown key stpes"),
              ("model: { widht: 3 }", "unknown key model.widht"),
              ("steps: many", "steps"),
              ("model: 3", "model must be a mapping"),
              ("steps: 0", "steps 0 must be >= 1"),
              ("- 1\n- 2", "must be a mapping"),
              ("steps: [1", "not valid YAML"),
          ])
    func refusals(yaml: String, message: String) {
        do {
            _ = try TrainingConfig.parse(yaml: yaml, source: "run.yaml")
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.description.contains(message), "\(error)")
        }
    }
}
