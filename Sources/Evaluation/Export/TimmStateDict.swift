import NN
import NeighborMAE
import TensorCore

// Our encoder as timm's `VisionTransformer` state dict (METHOD.md §3 "single-image use"), for
// `load_state_dict(strict=True)` with `TimmModelArgs`:
//   cls_token              [1, 1, D]        as is
//   pos_embed              [1, 1 + L, D]    zero row for cls, then singleImagePositionEmbedding
//                                           (full-frame four-edge table + img_embed[0])
//   patch_embed.proj.weight [D, C, p, p]    our Linear [D, p²·C] re-packed for a Conv2d (stride p)
//   patch_embed.proj.bias  [D]              as is
//   blocks.N.*, norm.*                      as is (same names, same [out, in] Linear layout, qkv rows
//                                           q | k | v with the heads contiguous, like timm's Attention)
// Dropped: img_embed (folded into pos_embed), mask_token and every decoder_* parameter.

/// The exported tensors in timm's state-dict order, and what was left out.
public struct TimmStateDict: Sendable {
    public let items: [SafeTensors.Item]
    /// Our parameters with no counterpart in timm's encoder (mask token, decoder), for the report.
    public let dropped: [String]

    public init(model: NeighborMAEModel, arena: ParameterArena) {
        let config = model.config
        let d = config.encoderWidth, c = config.channels, p = config.patchSize, l = config.patchesPerImage
        let layout = model.layout
        func parameter(_ name: String) -> Tensor {
            guard let id = layout.id(named: name) else { preconditionFailure("TimmStateDict: no parameter \(name)") }
            return arena.parameter(id)
        }
        func copied(_ name: String, as timmName: String? = nil) -> SafeTensors.Item {
            let tensor = parameter(name)
            return SafeTensors.Item(name: timmName ?? name, shape: tensor.shape, values: tensor.scalars)
        }

        let positions = [Float](repeating: 0, count: d) + model.singleImagePositionEmbedding(arena: arena).scalars
        var convolution = [Float](repeating: 0, count: d * c * p * p)
        parameter("patch_embed.weight").withUnsafeBufferPointer { linear in
            convolution.withUnsafeMutableBufferPointer { conv in
                patchEmbedConvolutionWeight(linear: linear, conv: conv, width: d, channels: c, patchSize: p)
            }
        }
        var items = [
            copied("cls_token"),
            SafeTensors.Item(name: "pos_embed", shape: [1, 1 + l, d], values: positions),
            SafeTensors.Item(name: "patch_embed.proj.weight", shape: [d, c, p, p], values: convolution),
            copied("patch_embed.bias", as: "patch_embed.proj.bias"),
        ]
        // Layout order is timm's order within the encoder: blocks.0.norm1 … blocks.{depth-1}.mlp.fc2.
        let blockNames = layout.views.map(\.name).filter { $0.hasPrefix("blocks.") }
        items += blockNames.map { copied($0) }
        items += [copied("norm.weight"), copied("norm.bias")]

        let used: Set<String> = Set(blockNames).union(["cls_token", "img_embed", "patch_embed.weight",
                                                       "patch_embed.bias", "norm.weight", "norm.bias"])
        self.items = items
        dropped = layout.views.map(\.name).filter { !used.contains($0) }
    }

    /// Exported floats (the parameter count timm reports for the model).
    public var parameterCount: Int { items.reduce(0) { $0 + $1.values.count } }
}

// MARK: - Kernel

/// conv[o, c, r, s] = linear[o, (r·p + s)·C + c]: the patch embedding as a Conv2d weight. Our Linear
/// reads a patch flattened as in Patchify.swift (pixel row r, column s, channel c at (r·p + s)·C + c), i.e.
/// its weight is a [D, p, p, C] array; Conv2d wants [D, C, p, p]. With stride p, out[o, i, j] =
/// bias[o] + Σ conv[o, c, r, s]·image[c, i·p + r, j·p + s] = our patch_embed(patch (i, j)).
/// Shapes: linear [D, p·p·C], conv [D, C, p, p] (overwritten).
public func patchEmbedConvolutionWeight(linear: UnsafeBufferPointer<Float>, conv: UnsafeMutableBufferPointer<Float>,
                                        width: Int, channels: Int, patchSize: Int) {
    let p = patchSize, c = channels, perOutput = p * p * c
    precondition(linear.count == width * perOutput && conv.count == linear.count,
                 "patchEmbedConvolutionWeight: \(linear.count) and \(conv.count) floats, expected "
                     + "D \(width) × p² \(p * p) × C \(c)")
    for o in 0..<width {
        let base = o * perOutput
        for channel in 0..<c {
            for r in 0..<p {
                for s in 0..<p {
                    conv[base + (channel * p + r) * p + s] = linear[base + (r * p + s) * c + channel]
                }
            }
        }
    }
}
