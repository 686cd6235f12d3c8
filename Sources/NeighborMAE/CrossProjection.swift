import TensorCore

// Cross-projection of the neighbour into an image's pixel grid (METHOD.md §5.3). For image k with
// neighbour o = 1 − k, centre c and size s (width, height) of each box in the pair frame:
//   scale = s_k / s_o per axis, translate = (c_k − c_o)·2/s_o with the y component negated (y-up frame,
//   rows going down), grid = base·scale + translate, base = pixel centres linspace(−1 + 1/T, 1 − 1/T, T)
//   (x along columns, y along rows);
//   x̃_k = grid_sample(x_o, grid, bilinear), vis̃_k = grid_sample(visible_o, grid, nearest).
// Both images must have the same T (they do: one config). The grid is separable (axis-aligned boxes).

/// The grid that samples image `target`'s pixel centres from image `source` (normalised coordinates of
/// `source`), for T × T tiles.
public func projectionGrid(from source: TileBox, to target: TileBox, imageSize: Int) -> SeparableGrid {
    precondition(source.width > 0 && source.height > 0, "projectionGrid: degenerate source box \(source)")
    let scaleX = target.width / source.width, scaleY = target.height / source.height
    let translateX = (target.centerX - source.centerX) * 2 / source.width
    let translateY = -((target.centerY - source.centerY) * 2 / source.height)
    let t = Double(imageSize)
    let base = (0..<imageSize).map { Double(2 * $0 + 1) / t - 1 }
    return SeparableGrid(xs: base.map { $0 * scaleX + translateX }, ys: base.map { $0 * scaleY + translateY })
}

/// Projects one neighbour into one image's grid.
/// Shapes: neighbour [C, T, T], neighbourVisible [T, T] (0 / 1), imageProjection [C, T, T],
/// visibleProjection [T, T] (both overwritten).
public func crossProjectImage(
    neighbour: UnsafeBufferPointer<Float>, neighbourVisible: UnsafeBufferPointer<Float>,
    grid: SeparableGrid, channels: Int, imageSize t: Int,
    imageProjection: UnsafeMutableBufferPointer<Float>, visibleProjection: UnsafeMutableBufferPointer<Float>
) {
    gridSampleBilinear(input: neighbour, channels: channels, height: t, width: t, grid: grid,
                       output: imageProjection)
    gridSampleNearest(input: neighbourVisible, channels: 1, height: t, width: t, grid: grid,
                      output: visibleProjection)
}

/// x̃ and vis̃ for every image of a batch of pairs.
/// Shapes: images [B, 2, C, T, T], visibility [B, 2, T, T] (0 / 1), boxes [B, 2, 4]
/// → (imageProjection [B, 2, C, T, T], visibleProjection [B, 2, T, T] as 0 / 1).
public func crossProject(images: Tensor, visibility: Tensor, boxes: Tensor,
                         pool: ThreadPool? = nil) -> (image: Tensor, visible: Tensor) {
    precondition(images.rank == 5 && images.shape[1] == 2 && images.shape[3] == images.shape[4],
                 "crossProject: images must be [B, 2, C, T, T], got \(images.shape)")
    let b = images.shape[0], c = images.shape[2], t = images.shape[3]
    precondition(visibility.shape == [b, 2, t, t] && boxes.shape == [b, 2, 4],
                 "crossProject: visibility \(visibility.shape), boxes \(boxes.shape) for images \(images.shape)")
    let list = TileBox.boxes(from: boxes)
    let imageOut = Tensor(zeros: images.shape), visibleOut = Tensor(zeros: visibility.shape)
    let run = { (n: Int) in
        let o = n ^ 1      // the neighbour: same pair, other slot
        let grid = projectionGrid(from: list[o], to: list[n], imageSize: t)
        images.withUnsafeBufferPointer { x in
            visibility.withUnsafeBufferPointer { v in
                imageOut.withUnsafeMutableBufferPointer { xo in
                    visibleOut.withUnsafeMutableBufferPointer { vo in
                        crossProjectImage(
                            neighbour: slice(x, o, c * t * t), neighbourVisible: slice(v, o, t * t),
                            grid: grid, channels: c, imageSize: t,
                            imageProjection: slice(xo, n, c * t * t), visibleProjection: slice(vo, n, t * t))
                    }
                }
            }
        }
    }
    forEachTask(2 * b, pool, run)
    return (imageOut, visibleOut)
}

/// Item `index` of a buffer of equal items of `size` floats.
@inline(__always)
func slice(_ buffer: UnsafeBufferPointer<Float>, _ index: Int, _ size: Int) -> UnsafeBufferPointer<Float> {
    UnsafeBufferPointer(rebasing: buffer[(index * size)..<((index + 1) * size)])
}

@inline(__always)
func slice(_ buffer: UnsafeMutableBufferPointer<Float>, _ index: Int,
           _ size: Int) -> UnsafeMutableBufferPointer<Float> {
    UnsafeMutableBufferPointer(rebasing: buffer[(index * size)..<((index + 1) * size)])
}
