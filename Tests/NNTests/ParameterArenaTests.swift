import NN
import Testing
import TensorCore

@Suite struct ParameterArenaTests {
    static func smallLayout() -> ParameterLayout {
        var layout = ParameterLayout()
        layout.register("cls_token", shape: [1, 1, 24], initializer: .normal(std: 0.02))
        layout.register("blocks.0.norm1.weight", shape: [24], initializer: .constant(1))
        layout.register("blocks.0.attn.qkv.weight", shape: [24, 72], initializer: .xavierUniform(fanIn: 24, fanOut: 72))
        layout.register("blocks.0.attn.qkv.bias", shape: [72], initializer: .constant(0))
        layout.register("big.weight", shape: [300, 200], initializer: .xavierUniform(fanIn: 300, fanOut: 200))
        return layout
    }

    @Test func layoutAlignsOffsetsAndAppliesTheDecayRule() {
        let layout = Self.smallLayout()
        #expect(layout.views.map(\.offset).allSatisfy { $0 % ParameterLayout.alignment == 0 })
        #expect(zip(layout.views, layout.views.dropFirst()).allSatisfy { $0.range.upperBound <= $1.offset })
        #expect(layout.views.map(\.decays) == [true, false, true, false, true])
        #expect(layout.parameterCount == 24 + 24 + 24 * 72 + 72 + 60_000)
        #expect(layout.id(named: "blocks.0.attn.qkv.bias")?.index == 3)
        #expect(layout.id(named: "missing") == nil)
    }

    @Test func initialisationFollowsEachRuleAndTheSeed() {
        let layout = Self.smallLayout()
        let arena = ParameterArena(layout: layout, seed: 11)
        let big = arena.parameter(layout.id(named: "big.weight")!).scalars
        let bound = Float((6.0 / 500.0).squareRoot())
        #expect(big.allSatisfy { abs($0) <= bound })
        let mean = big.reduce(0, +) / Float(big.count)
        let variance = big.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(big.count)
        #expect(abs(mean) < 0.002)
        #expect(abs(variance - bound * bound / 3) < 0.02 * bound * bound / 3 * 5)   // U(-a,a) variance a²/3
        #expect(arena.parameter(layout.id(named: "blocks.0.norm1.weight")!).scalars.allSatisfy { $0 == 1 })
        #expect(arena.parameter(layout.id(named: "blocks.0.attn.qkv.bias")!).scalars.allSatisfy { $0 == 0 })
        let cls = arena.parameter(layout.id(named: "cls_token")!).scalars
        #expect(cls.allSatisfy { abs($0) < 0.02 * 6 } && Set(cls).count == cls.count)

        let same = ParameterArena(layout: layout, seed: 11)
        let other = ParameterArena(layout: layout, seed: 12)
        let all = { (a: ParameterArena) in a.parameters.withUnsafeBufferPointer { Array($0) } }
        #expect(all(arena) == all(same))
        #expect(all(arena) != all(other))
    }

    @Test func viewsAliasTheFlatBuffers() {
        let layout = Self.smallLayout()
        let arena = ParameterArena(layout: layout, seed: 1)
        let id = layout.id(named: "blocks.0.attn.qkv.bias")!
        arena.gradient(id)[5] = 3
        let offset = layout[id].offset
        #expect(arena.gradients.withUnsafeBufferPointer { $0[offset + 5] } == 3)
        arena.zeroGradients()
        #expect(arena.gradients.withUnsafeBufferPointer { $0.allSatisfy { $0 == 0 } })
    }
}
