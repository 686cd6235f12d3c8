import Foundation

// PyTorch's F.grid_sample, align_corners=False, padding zeros, for one image (METHOD.md §5.3).
// A grid point (x, y) in [−1, 1]² normalised coordinates (x along columns, y along rows, −1 and 1 the
// outer edges of the border pixels) is unnormalised as ix = ((x + 1)·W − 1)/2, iy = ((y + 1)·H − 1)/2.
//   bilinear: (x0, y0) = floor(ix, iy); weights nw = (x0+1 − ix)(y0+1 − iy), ne = (ix − x0)(y0+1 − iy),
//             sw = (x0+1 − ix)(iy − y0), se = (ix − x0)(iy − y0); out = Σ in-bounds corner · weight,
//             summed nw, ne, sw, se (PyTorch's order);
//   nearest:  in[round(iy), round(ix)] with round half to even (`nearbyint`), 0 when out of bounds.
// Math in Double, results stored as Float. The naive references take any grid [Ho, Wo, 2]; the fast
// versions take a separable grid (x depends on the column only, y on the row only), which is what an
// axis-aligned box-to-box projection gives, and precompute the per-column / per-row taps.
// Fast and reference compute the same expressions in the same order and agree bitwise.

/// A separable sampling grid: output pixel (i, j) samples normalised point (xs[j], ys[i]).
public struct SeparableGrid: Sendable, Equatable {
    public var xs: [Double]
    public var ys: [Double]

    public init(xs: [Double], ys: [Double]) {
        self.xs = xs
        self.ys = ys
    }

    /// The dense [Ho, Wo, 2] grid (x, y) of the naive references.
    public var dense: [Double] {
        ys.flatMap { y in xs.flatMap { x in [x, y] } }
    }
}

/// PyTorch's unnormalisation for align_corners=False: ((coordinate + 1)·size − 1)/2.
@inlinable
public func gridSourceIndex(_ coordinate: Double, size: Int) -> Double {
    ((coordinate + 1) * Double(size) - 1) / 2
}

// MARK: - Naive references (any grid)

/// Bilinear grid_sample of one image. Shapes: input [C, H, W], grid [Ho, Wo, 2] (x, y), output [C, Ho, Wo].
public func gridSampleBilinearReference(
    input: UnsafeBufferPointer<Float>, channels: Int, height: Int, width: Int,
    grid: UnsafeBufferPointer<Double>, outHeight: Int, outWidth: Int, output: UnsafeMutableBufferPointer<Float>
) {
    precondition(input.count == channels * height * width && grid.count == outHeight * outWidth * 2
                     && output.count == channels * outHeight * outWidth, "gridSampleBilinearReference: shapes")
    func value(_ c: Int, _ y: Int, _ x: Int) -> Double? {
        (0..<height).contains(y) && (0..<width).contains(x) ? Double(input[(c * height + y) * width + x]) : nil
    }
    for c in 0..<channels {
        for point in 0..<(outHeight * outWidth) {
            let ix = gridSourceIndex(grid[2 * point], size: width)
            let iy = gridSourceIndex(grid[2 * point + 1], size: height)
            let x0 = ix.rounded(.down), y0 = iy.rounded(.down)
            let nw = (x0 + 1 - ix) * (y0 + 1 - iy), ne = (ix - x0) * (y0 + 1 - iy)
            let sw = (x0 + 1 - ix) * (iy - y0), se = (ix - x0) * (iy - y0)
            let xi = Int(x0), yi = Int(y0)
            var out = 0.0
            if let v = value(c, yi, xi) { out += v * nw }
            if let v = value(c, yi, xi + 1) { out += v * ne }
            if let v = value(c, yi + 1, xi) { out += v * sw }
            if let v = value(c, yi + 1, xi + 1) { out += v * se }
            output[c * outHeight * outWidth + point] = Float(out)
        }
    }
}

/// Nearest grid_sample of one image. Shapes: input [C, H, W], grid [Ho, Wo, 2] (x, y), output [C, Ho, Wo].
public func gridSampleNearestReference(
    input: UnsafeBufferPointer<Float>, channels: Int, height: Int, width: Int,
    grid: UnsafeBufferPointer<Double>, outHeight: Int, outWidth: Int, output: UnsafeMutableBufferPointer<Float>
) {
    precondition(input.count == channels * height * width && grid.count == outHeight * outWidth * 2
                     && output.count == channels * outHeight * outWidth, "gridSampleNearestReference: shapes")
    for c in 0..<channels {
        for point in 0..<(outHeight * outWidth) {
            let x = Int(gridSourceIndex(grid[2 * point], size: width).rounded(.toNearestOrEven))
            let y = Int(gridSourceIndex(grid[2 * point + 1], size: height).rounded(.toNearestOrEven))
            let inside = (0..<height).contains(y) && (0..<width).contains(x)
            output[c * outHeight * outWidth + point] = inside ? input[(c * height + y) * width + x] : 0
        }
    }
}

// MARK: - Separable fast path

/// The two bilinear taps along one axis: index `low` and `low + 1` with weights, and whether each is in range.
private struct BilinearTaps {
    var low: Int
    var weightLow: Double      // (low + 1) − i
    var weightHigh: Double     // i − low
    var lowInside: Bool
    var highInside: Bool

    init(_ coordinate: Double, size: Int) {
        let index = gridSourceIndex(coordinate, size: size)
        let floor = index.rounded(.down)
        low = Int(floor)
        weightLow = floor + 1 - index
        weightHigh = index - floor
        lowInside = (0..<size).contains(low)
        highInside = (0..<size).contains(low + 1)
    }
}

/// Bilinear grid_sample on a separable grid. Shapes: input [C, H, W], output [C, Ho, Wo] with
/// Ho = grid.ys.count, Wo = grid.xs.count. Bitwise equal to `gridSampleBilinearReference` on `grid.dense`.
public func gridSampleBilinear(
    input: UnsafeBufferPointer<Float>, channels: Int, height: Int, width: Int,
    grid: SeparableGrid, output: UnsafeMutableBufferPointer<Float>
) {
    let outHeight = grid.ys.count, outWidth = grid.xs.count
    precondition(input.count == channels * height * width && output.count == channels * outHeight * outWidth,
                 "gridSampleBilinear: shapes")
    let columns = grid.xs.map { BilinearTaps($0, size: width) }
    let rows = grid.ys.map { BilinearTaps($0, size: height) }
    for c in 0..<channels {
        let plane = c * height * width
        for (i, row) in rows.enumerated() {
            let top = plane + row.low * width, bottom = top + width
            for (j, column) in columns.enumerated() {
                let x = column.low
                var out = 0.0
                if row.lowInside && column.lowInside {
                    out += Double(input[top + x]) * (column.weightLow * row.weightLow)
                }
                if row.lowInside && column.highInside {
                    out += Double(input[top + x + 1]) * (column.weightHigh * row.weightLow)
                }
                if row.highInside && column.lowInside {
                    out += Double(input[bottom + x]) * (column.weightLow * row.weightHigh)
                }
                if row.highInside && column.highInside {
                    out += Double(input[bottom + x + 1]) * (column.weightHigh * row.weightHigh)
                }
                output[(c * outHeight + i) * outWidth + j] = Float(out)
            }
        }
    }
}

/// Nearest grid_sample on a separable grid. Shapes as `gridSampleBilinear`; equals the reference bitwise.
public func gridSampleNearest(
    input: UnsafeBufferPointer<Float>, channels: Int, height: Int, width: Int,
    grid: SeparableGrid, output: UnsafeMutableBufferPointer<Float>
) {
    let outHeight = grid.ys.count, outWidth = grid.xs.count
    precondition(input.count == channels * height * width && output.count == channels * outHeight * outWidth,
                 "gridSampleNearest: shapes")
    let nearest = { (coordinate: Double, size: Int) -> Int? in
        let index = Int(gridSourceIndex(coordinate, size: size).rounded(.toNearestOrEven))
        return (0..<size).contains(index) ? index : nil
    }
    let columns = grid.xs.map { nearest($0, width) }
    let rows = grid.ys.map { nearest($0, height) }
    for c in 0..<channels {
        for (i, row) in rows.enumerated() {
            for (j, column) in columns.enumerated() {
                var out: Float = 0
                if let row, let column { out = input[(c * height + row) * width + column] }
                output[(c * outHeight + i) * outWidth + j] = out
            }
        }
    }
}
