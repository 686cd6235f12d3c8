import Foundation
import TensorCore

// Joint relative position embedding (METHOD.md §3): every patch is described by its four edges
// (l, t, r, b) in the [0, 32]² pair frame and each edge coordinate c is encoded with width/4 channels
//   enc(c) = [sin(c·ω_0), …, sin(c·ω_{s−1}), cos(c·ω_0), …, cos(c·ω_{s−1})],  s = width/8,
//   ω_m = 10000^(−m/(s−1))  (1 down to 1e-4, both ends included),
// concatenated as enc(l) ‖ enc(t) ‖ enc(r) ‖ enc(b). Grid vertices: x_j = left + j·(right − left)/G,
// y_i = top + i·(bottom − top)/G (i, j = 0…G; y runs from top down because the frame is y-up);
// patch (row i, column j), raster index i·G + j, has (l, t, r, b) = (x_j, y_i, x_{j+1}, y_{i+1}).
// Computed in Double, stored as Float. The slot embedding (img_embed[k]) is added by the model.

/// An image's footprint (left, top, right, bottom) in the y-up [0, 32]² pair frame (METHOD.md §1.3–1.4).
public struct TileBox: Sendable, Equatable, Hashable, Codable {
    public var left: Double
    public var top: Double
    public var right: Double
    public var bottom: Double

    public init(left: Double, top: Double, right: Double, bottom: Double) {
        self.left = left
        self.top = top
        self.right = right
        self.bottom = bottom
    }

    /// The whole frame, (0, 32, 32, 0): a single image (K = 1 and downstream use, METHOD.md §3).
    public static let fullFrame = TileBox(left: 0, top: 32, right: 32, bottom: 0)

    public var width: Double { right - left }
    public var height: Double { top - bottom }
    public var centerX: Double { (left + right) / 2 }
    public var centerY: Double { (top + bottom) / 2 }

    /// The B·K boxes of a [B, K, 4] tensor (left, top, right, bottom per image), in order.
    public static func boxes(from tensor: Tensor) -> [TileBox] {
        precondition(tensor.rank == 3 && tensor.shape[2] == 4, "TileBox.boxes: expected [B, K, 4], got \(tensor.shape)")
        let values = tensor.scalars.map(Double.init)
        return stride(from: 0, to: values.count, by: 4).map {
            TileBox(left: values[$0], top: values[$0 + 1], right: values[$0 + 2], bottom: values[$0 + 3])
        }
    }
}

// MARK: - Kernels

/// The four-edge sin-cos table of one image. Shapes: table [L, width] (overwritten), L = G².
/// `width` must be a multiple of 8 with width/8 >= 2.
public func fourEdgePositionTable(box: TileBox, gridSize: Int, width: Int,
                                  into table: UnsafeMutableBufferPointer<Float>) {
    precondition(width >= 16 && width % 8 == 0, "fourEdgePositionTable: width \(width) must be a multiple of 8, >= 16")
    precondition(gridSize >= 1 && table.count == gridSize * gridSize * width,
                 "fourEdgePositionTable: table of \(table.count) floats, expected \(gridSize * gridSize) × \(width)")
    let quarter = width / 4, g = gridSize
    let omegas = sinCosFrequencies(count: width / 8)
    // enc of every vertex coordinate: xs[j] for x_j, ys[i] for y_i, each `quarter` floats.
    var xs = [Float](repeating: 0, count: (g + 1) * quarter)
    var ys = [Float](repeating: 0, count: (g + 1) * quarter)
    for v in 0...g {
        let x = box.left + Double(v) * (box.right - box.left) / Double(g)
        let y = box.top + Double(v) * (box.bottom - box.top) / Double(g)
        encodeCoordinate(x, omegas, into: &xs, at: v * quarter)
        encodeCoordinate(y, omegas, into: &ys, at: v * quarter)
    }
    for i in 0..<g {
        for j in 0..<g {
            let row = (i * g + j) * width
            for m in 0..<quarter {
                table[row + m] = xs[j * quarter + m]
                table[row + quarter + m] = ys[i * quarter + m]
                table[row + 2 * quarter + m] = xs[(j + 1) * quarter + m]
                table[row + 3 * quarter + m] = ys[(i + 1) * quarter + m]
            }
        }
    }
}

/// ω_m = 10000^(−m/(s−1)), m = 0…s−1 (`1 / 10000 ** linspace(0, 1, s)`).
public func sinCosFrequencies(count s: Int) -> [Double] {
    precondition(s >= 2, "sinCosFrequencies: need at least 2 frequencies, got \(s)")
    return (0..<s).map { pow(10_000, -Double($0) / Double(s - 1)) }
}

/// Writes [sin(c·ω_m)…, cos(c·ω_m)…] (2·s floats) at `offset`.
private func encodeCoordinate(_ c: Double, _ omegas: [Double], into out: inout [Float], at offset: Int) {
    let s = omegas.count
    for m in 0..<s {
        let angle = c * omegas[m]
        out[offset + m] = Float(sin(angle))
        out[offset + s + m] = Float(cos(angle))
    }
}

// MARK: - Tensor conveniences

/// Four-edge embeddings of a batch: boxes [B, K, 4] → [B, K, L, width]. One table per image.
public func fourEdgePositionEmbedding(boxes: Tensor, gridSize: Int, width: Int, pool: ThreadPool? = nil) -> Tensor {
    fourEdgePositionEmbedding(boxes: TileBox.boxes(from: boxes), imagesPerSample: boxes.shape[1], gridSize: gridSize,
                              width: width, pool: pool)
}

/// Four-edge embeddings of B·K boxes (sample-major, as EOData's pair boxes): → [B, K, L, width].
public func fourEdgePositionEmbedding(boxes list: [TileBox], imagesPerSample k: Int, gridSize: Int, width: Int,
                                      pool: ThreadPool? = nil) -> Tensor {
    precondition(k >= 1 && list.count % k == 0, "fourEdgePositionEmbedding: \(list.count) boxes for K = \(k)")
    let l = gridSize * gridSize
    let out = Tensor(zeros: [list.count / k, k, l, width])
    out.withUnsafeMutableBufferPointer { buffer in
        let fill = { (n: Int) in
            let slice = UnsafeMutableBufferPointer(rebasing: buffer[(n * l * width)..<((n + 1) * l * width)])
            fourEdgePositionTable(box: list[n], gridSize: gridSize, width: width, into: slice)
        }
        forEachTask(list.count, pool, fill)
    }
    return out
}

/// The table of one image: [L, width] for `box` (default the full frame, the single-image / K = 1 table).
public func fourEdgePositionTable(box: TileBox = .fullFrame, gridSize: Int, width: Int) -> Tensor {
    let table = Tensor(zeros: [gridSize * gridSize, width])
    table.withUnsafeMutableBufferPointer { fourEdgePositionTable(box: box, gridSize: gridSize, width: width, into: $0) }
    return table
}
