import Foundation
import NN
import Testing
import TensorCore
import TestSupport

@Suite struct AttentionTests {
    static let batch = 2, sequence = 5, width = 16, heads = 2
    /// Sample 0 may not attend keys 2 and 4, sample 1 not key 1.
    static let keyMask = [true, true, false, true, false, true, false, true, true, true]

    static func make() -> (Attention, ParameterArena) {
        var layout = ParameterLayout()
        let attention = Attention(name: "attn", width: width, heads: heads, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 21)
        perturbParameters(arena, tag: 1)
        return (attention, arena)
    }

    /// The attention written as plain loops in Double, qkv layout [3, H, hd] per token.
    static func reference(_ attention: Attention, _ arena: ParameterArena, x: [Float], mask: [Bool]?) -> [Double] {
        let s = sequence, d = width, hd = width / heads
        let linear = { (linear: Linear, input: [Double], rows: Int) -> [Double] in
            let w = arena.parameter(linear.weight).scalars.map(Double.init)
            let b = arena.parameter(linear.bias!).scalars.map(Double.init)
            let (n, k) = (linear.outFeatures, linear.inFeatures)
            return (0..<(rows * n)).map { index in
                let (row, column) = (index / n, index % n)
                return (0..<k).reduce(b[column]) { $0 + input[row * k + $1] * w[column * k + $1] }
            }
        }
        let qkv = linear(attention.qkv, x.map(Double.init), batch * s)
        var heads = [Double](repeating: 0, count: batch * s * d)
        let scale = 1 / Double(hd).squareRoot()
        for b in 0..<batch {
            for h in 0..<Self.heads {
                let element = { (token: Int, part: Int, i: Int) in
                    qkv[(b * s + token) * 3 * d + part * d + h * hd + i]
                }
                for i in 0..<s {
                    let allowed = (0..<s).filter { mask?[b * s + $0] ?? true }
                    let scores = allowed.map { j in
                        scale * (0..<hd).reduce(0.0) { $0 + element(i, 0, $1) * element(j, 1, $1) }
                    }
                    let top = scores.max()!
                    let weights = scores.map { Foundation.exp($0 - top) }
                    let total = weights.reduce(0, +)
                    for c in 0..<hd {
                        heads[(b * s + i) * d + h * hd + c] =
                            zip(allowed, weights).reduce(0.0) { $0 + $1.1 / total * element($1.0, 2, c) }
                    }
                }
            }
        }
        return linear(attention.proj, heads, batch * s)
    }

    @Test func registersQKVThenProj() {
        let (_, arena) = Self.make()
        let names = ["attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias"]
        #expect(arena.layout.views.map(\.name) == names)
        #expect(arena.layout.views[0].shape == [3 * Self.width, Self.width])
    }

    @Test(arguments: [false, true]) func forwardMatchesNaiveReference(masked: Bool) {
        let (attention, arena) = Self.make()
        let mask = masked ? Self.keyMask : nil
        let x = randomTensor([Self.batch, Self.sequence, Self.width], tag: 2)
        let (y, cache) = attention.forward(x, keyMask: mask, LayerContext(arena: arena))
        #expect(y.shape == x.shape)
        #expect(cache.probabilities.shape == [Self.batch, Self.heads, Self.sequence, Self.sequence])
        expectClose(y.scalars, Self.reference(attention, arena, x: x.scalars, mask: mask), atol: 1e-5, rtol: 1e-5,
                    "attention forward (masked: \(masked))")
        if masked {
            // Masked keys get exactly zero probability in every row of their sample.
            let p = cache.probabilities
            for b in 0..<Self.batch {
                for h in 0..<Self.heads {
                    for i in 0..<Self.sequence {
                        for j in 0..<Self.sequence where !Self.keyMask[b * Self.sequence + j] {
                            #expect(p[b, h, i, j] == 0)
                        }
                    }
                }
            }
        }
    }

    /// Changing the input of a masked key changes only that token's own output row, bit for bit.
    @Test func maskedKeysDoNotInfluenceOtherTokens() {
        let (attention, arena) = Self.make()
        let context = LayerContext(arena: arena)
        let x = randomTensor([Self.batch, Self.sequence, Self.width], tag: 3)
        let before = attention.forward(x, keyMask: Self.keyMask, context).0.scalars
        let changed = x.copy()
        for c in 0..<Self.width { changed[0, 2, c] += 5 }       // sample 0, masked key 2
        let after = attention.forward(changed, keyMask: Self.keyMask, context).0.scalars
        let rowSize = Self.width
        let ownRow = (2 * rowSize)..<(3 * rowSize)
        let others = before.indices.filter { !ownRow.contains($0) }
        expectBitwiseEqual(others.map { after[$0] }, others.map { before[$0] }, "outputs of other tokens")
        #expect(ownRow.contains { after[$0] != before[$0] })
    }

    @Test(arguments: [false, true]) func gradientsMatchFiniteDifferences(masked: Bool) {
        let (attention, arena) = Self.make()
        let context = LayerContext(arena: arena)
        let mask = masked ? Self.keyMask : nil
        let x = randomTensor([Self.batch, Self.sequence, Self.width], tag: 4)
        let r = randomTensor(x.shape, tag: 5)
        let (_, cache) = attention.forward(x, keyMask: mask, context)
        let dX = Tensor(zeros: x.shape)
        attention.backward(cache, dY: r, dX: dX, context)
        let probes = parameterProbes(arena, perTensor: 12, tag: 6)
            + inputProbes("x", x, gradient: dX, count: 24, tag: 7)
        checkGradients(probes) { weightedSum(attention.forward(x, keyMask: mask, context).0, r) }
    }
}
