import NN
import TensorCore

// Downstream use of the pretrained encoder (METHOD.md §3 "single-image use", §11): one image fills the
// whole [0, 32]² frame (box left 0, top 32, right 32, bottom 0), takes slot embedding 0, and every
// patch is visible. This is what the linear probe and kNN read, and what `export` hands to timm:
//   tokens = [cls, patch_embed(patches) + PE],  PE = fourEdgeTable(full frame) + img_embed[0]
//   features = norm(blocks(tokens))            (no key mask, no decoder)

extension NeighborMAEModel {
    /// The position embedding of a single full-frame image in slot 0: [L, D]. With a zero row for cls in
    /// front it is timm's `pos_embed`.
    public func singleImagePositionEmbedding(arena: ParameterArena) -> Tensor {
        let d = config.encoderWidth
        let table = fourEdgePositionTable(box: .fullFrame, gridSize: config.gridSize, width: d)
        let slot = arena.parameter(imageEmbed)                                            // [1, K, D]
        slot.withUnsafeBufferPointer { slots in
            table.withUnsafeMutableBufferPointer { rows in
                let first = UnsafeBufferPointer(rebasing: slots[0..<d])
                for patch in 0..<config.patchesPerImage {
                    accumulate(first, into: UnsafeMutableBufferPointer(rebasing: rows[(patch * d)..<((patch + 1) * d)]),
                               count: d)
                }
            }
        }
        return table
    }

    /// Runs the frozen encoder on single images. images: [N, C, T, T], normalised like the training
    /// tiles. Returns [N, 1 + L, D] after the final LayerNorm: row 0 is the cls token, rows 1… the patches
    /// in raster order. Nothing is written to the arena (no gradients, no caches kept).
    public func encodeSingleImages(_ images: Tensor, _ context: LayerContext) -> Tensor {
        let c = config, n = images.shape.first ?? 0, l = c.patchesPerImage, d = c.encoderWidth
        precondition(images.shape == [n, c.channels, c.imageSize, c.imageSize],
                     "encodeSingleImages: images \(images.shape), expected [N, \(c.channels), \(c.imageSize), "
                        + "\(c.imageSize)]")
        let arena = context.arena
        let patches = patchify(images, patchSize: c.patchSize, pool: context.pool).reshaped([n * l, c.patchDimension])
        let embedded = patchEmbed.forward(patches, context)                                // [N·L, D]
        let positions = singleImagePositionEmbedding(arena: arena)                         // [L, D]
        embedded.withUnsafeMutableBufferPointer { rows in
            positions.withUnsafeBufferPointer { table in
                for image in 0..<n {
                    let start = image * l * d
                    accumulate(table, into: UnsafeMutableBufferPointer(rebasing: rows[start..<(start + l * d)]),
                               count: l * d)
                }
            }
        }
        var x = prependRow(arena.parameter(clsToken), to: embedded, samples: n, rowsPerSample: l)   // [N, 1 + L, D]
        for block in blocks {
            x = block.forward(x, keyMask: nil, context).0
        }
        return norm.forward(x, context).0
    }
}
