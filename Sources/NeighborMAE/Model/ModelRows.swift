import TensorCore

// Row shuffling between the model's layouts (token rows of width W):
//   per-image rows [B·K, L, W]  --gather kept-->  [B·K·n_max, W]
//   token rows     [B, R, W]    --prepend cls-->  [B, 1 + R, W]   (and the inverse, dropping row 0)

/// dst[n·m + r] = src[n·rows + indices[n·m + r]] for every image n: the kept rows of each image.
/// Shapes: src [N, rows, W] (any leading shape with that product), indices [N·m], result [N·m, W].
func gatherImageRows(_ src: Tensor, indices: [Int32], rowsPerImage rows: Int, keepPerImage m: Int) -> Tensor {
    let width = src.shape.last!, images = src.count / (rows * width)
    precondition(indices.count == images * m, "gatherImageRows: \(indices.count) indices for \(images) images × \(m)")
    let out = Tensor(zeros: [images * m, width])
    src.withUnsafeBufferPointer { from in
        out.withUnsafeMutableBufferPointer { to in
            for n in 0..<images {
                for r in 0..<m { copyRow(from, from: n * rows + Int(indices[n * m + r]), into: to, at: n * m + r, width: width) }
            }
        }
    }
    return out
}

/// dst[n·m + r] += src[n·rows + indices[n·m + r]] (adds each kept row's position embedding).
func addGatheredRows(_ src: Tensor, indices: [Int32], rowsPerImage rows: Int, keepPerImage m: Int, into dst: Tensor) {
    let width = src.shape.last!, images = src.count / (rows * width)
    precondition(dst.count == images * m * width, "addGatheredRows: destination \(dst.shape)")
    src.withUnsafeBufferPointer { from in
        dst.withUnsafeMutableBufferPointer { to in
            for n in 0..<images {
                for r in 0..<m {
                    let source = (n * rows + Int(indices[n * m + r])) * width, target = (n * m + r) * width
                    accumulate(UnsafeBufferPointer(rebasing: from[source..<(source + width)]),
                               into: UnsafeMutableBufferPointer(rebasing: to[target..<(target + width)]), count: width)
                }
            }
        }
    }
}

/// [B·R, W] rows → [B, 1 + R, W] with `first` ([W] or [1, 1, W]) as row 0 of every sample.
func prependRow(_ first: Tensor, to rows: Tensor, samples b: Int, rowsPerSample r: Int) -> Tensor {
    let width = first.count
    precondition(rows.count == b * r * width, "prependRow: rows \(rows.shape) for B = \(b), R = \(r), W = \(width)")
    let out = Tensor(zeros: [b, 1 + r, width])
    first.withUnsafeBufferPointer { head in
        rows.withUnsafeBufferPointer { body in
            out.withUnsafeMutableBufferPointer { to in
                for sample in 0..<b {
                    copyRow(head, from: 0, into: to, at: sample * (1 + r), width: width)
                    let source = sample * r * width, target = (sample * (1 + r) + 1) * width
                    _ = UnsafeMutableBufferPointer(rebasing: to[target..<(target + r * width)])
                        .update(fromContentsOf: UnsafeBufferPointer(rebasing: body[source..<(source + r * width)]))
                }
            }
        }
    }
    return out
}

/// [B, 1 + R, W] → [B·R, W] without each sample's row 0.
func dropFirstRow(_ tokens: Tensor, samples b: Int, rowsPerSample r: Int) -> Tensor {
    let width = tokens.shape.last!
    precondition(tokens.count == b * (1 + r) * width, "dropFirstRow: tokens \(tokens.shape)")
    let out = Tensor(zeros: [b * r, width])
    tokens.withUnsafeBufferPointer { from in
        out.withUnsafeMutableBufferPointer { to in
            for sample in 0..<b {
                let source = (sample * (1 + r) + 1) * width, target = sample * r * width
                _ = UnsafeMutableBufferPointer(rebasing: to[target..<(target + r * width)])
                    .update(fromContentsOf: UnsafeBufferPointer(rebasing: from[source..<(source + r * width)]))
            }
        }
    }
    return out
}

/// to[row `at`] = from[row `from`] for rows of `width` floats.
@inline(__always)
func copyRow(_ from: UnsafeBufferPointer<Float>, from source: Int, into to: UnsafeMutableBufferPointer<Float>,
             at target: Int, width: Int) {
    (to.baseAddress! + target * width).update(from: from.baseAddress! + source * width, count: width)
}

/// to[row `at`] += from[row `from`].
@inline(__always)
func addRow(_ from: UnsafeBufferPointer<Float>, from source: Int, into to: UnsafeMutableBufferPointer<Float>,
            at target: Int, width: Int) {
    accumulate(UnsafeBufferPointer(rebasing: from[(source * width)..<((source + 1) * width)]),
               into: UnsafeMutableBufferPointer(rebasing: to[(target * width)..<((target + 1) * width)]), count: width)
}
