import Evaluation
import Testing

@Suite struct LabelRuleTests {
    @Test func parsesTheThreeRules() throws {
        #expect(try LabelRule(parsing: "majority") == .majority)
        #expect(try LabelRule(parsing: "thresholds:10, 25.5") == .thresholds([10, 25.5]))
        #expect(try LabelRule(parsing: "quantiles:3") == .quantiles(3))
    }

    @Test func rejectsMalformedRulesWithAReason() {
        for text in ["median", "thresholds:", "thresholds:5,abc", "thresholds:9,3", "quantiles:1", "quantiles:x",
                     "majority:2"] {
            #expect(throws: EvaluationError.self, "\(text)") { try LabelRule(parsing: text) }
        }
    }
}
