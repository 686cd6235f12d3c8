import Foundation
import NeighborMAE

/// [left, top, right, bottom] of every box, as the floats of a [B, K, 4] tensor.
func boxValues(_ boxes: [TileBox]) -> [Float] {
    boxes.flatMap { [$0.left, $0.top, $0.right, $0.bottom].map(Float.init) }
}

/// A smooth analytic "ground" f_c(X, Y) = sin(a_c·X + b_c·Y + φ_c) in pair-frame units, rendered into
/// tiles from their boxes: pixel (i, j) of a T × T tile with box (l, t, r, b) shows the ground point at
/// its centre, X = l + (j + ½)(r − l)/T, Y = t − (i + ½)(t − b)/T (rows run down, the frame is y-up).
struct World {
    static let a: [Double] = [0.35, -0.22, 0.5]
    static let b: [Double] = [0.18, 0.41, -0.3]
    static let phase: [Double] = [0.3, 1.1, -0.7]

    let channels: Int

    func value(_ c: Int, _ x: Double, _ y: Double) -> Double {
        sin(Self.a[c] * x + Self.b[c] * y + Self.phase[c])
    }

    /// Ground point at the centre of pixel (i, j) of a T × T tile with `box`.
    static func centre(_ box: TileBox, _ i: Int, _ j: Int, _ t: Int) -> (x: Double, y: Double) {
        (box.left + (Double(j) + 0.5) * box.width / Double(t), box.top - (Double(i) + 0.5) * box.height / Double(t))
    }

    /// [C, T, T] render of the tile with `box`.
    func render(_ box: TileBox, size t: Int) -> [Float] {
        var out: [Float] = []
        for c in 0..<channels {
            for i in 0..<t {
                for j in 0..<t {
                    let (x, y) = Self.centre(box, i, j, t)
                    out.append(Float(value(c, x, y)))
                }
            }
        }
        return out
    }

    /// Bound on bilinear interpolation error for cells of hx × hy ground units:
    /// |f − I f| <= (hx²/8)·max|f_XX| + (hy²/8)·max|f_YY|, with max|f_XX| = a², max|f_YY| = b².
    func bilinearErrorBound(_ c: Int, hx: Double, hy: Double) -> Double {
        (hx * hx * Self.a[c] * Self.a[c] + hy * hy * Self.b[c] * Self.b[c]) / 8
    }
}
