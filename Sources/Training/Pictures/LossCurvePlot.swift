import Foundation

/// Draws loss curves (step on x, loss on y, log scale optional) into an RGB canvas, for the run
/// directory's `loss.png`. Deliberately plain: axes box, a faint grid at each decade or fifth of
/// the range, one coloured polyline per series. No text rendering; the metrics file has the numbers.
public struct LossCurvePlot {
    public struct Series {
        public let points: [(step: Double, value: Double)]
        public let color: (UInt8, UInt8, UInt8)
        public init(points: [(step: Double, value: Double)], color: (UInt8, UInt8, UInt8)) {
            self.points = points
            self.color = color
        }
    }

    public var width = 640
    public var height = 400
    public var logScale = true
    private let margin = 20

    public init(width: Int = 640, height: Int = 400, logScale: Bool = true) {
        self.width = width
        self.height = height
        self.logScale = logScale
    }

    /// Renders the series; empty or non-positive data (on a log scale) is skipped.
    public func render(_ series: [Series]) -> ImageGrid {
        var canvas = ImageGrid(width: width, height: height)
        let transform = { (v: Double) in logScale ? (v > 0 ? v.log10() : .nan) : v }
        let all = series.flatMap(\.points).filter { transform($0.value).isFinite }
        guard let minStep = all.map(\.step).min(), let maxStep = all.map(\.step).max(),
              let low = all.map({ transform($0.value) }).min(), let high = all.map({ transform($0.value) }).max()
        else { return canvas }
        let xSpan = max(maxStep - minStep, 1), ySpan = max(high - low, 1e-9)
        let plotW = Double(width - 2 * margin), plotH = Double(height - 2 * margin)
        func pixel(_ step: Double, _ value: Double) -> (Int, Int) {
            (margin + Int(((step - minStep) / xSpan * plotW).rounded()),
             height - margin - Int(((transform(value) - low) / ySpan * plotH).rounded()))
        }
        for i in 0...4 {       // grid lines
            let gy = margin + Int(Double(i) / 4 * plotH), gx = margin + Int(Double(i) / 4 * plotW)
            canvas.line(from: (margin, gy), to: (width - margin, gy), color: (225, 225, 225))
            canvas.line(from: (gx, margin), to: (gx, height - margin), color: (225, 225, 225))
        }
        canvas.line(from: (margin, height - margin), to: (width - margin, height - margin), color: (0, 0, 0))
        canvas.line(from: (margin, margin), to: (margin, height - margin), color: (0, 0, 0))
        for s in series {
            let visible = s.points.filter { transform($0.value).isFinite }
            for (a, b) in zip(visible, visible.dropFirst()) {
                canvas.line(from: pixel(a.step, a.value), to: pixel(b.step, b.value), color: s.color)
            }
        }
        return canvas
    }
}

extension ImageGrid {
    /// Bresenham line, clipped to the canvas.
    mutating func line(from a: (Int, Int), to b: (Int, Int), color: (UInt8, UInt8, UInt8)) {
        var (x, y) = a
        let dx = abs(b.0 - x), dy = -abs(b.1 - y), sx = x < b.0 ? 1 : -1, sy = y < b.1 ? 1 : -1
        var error = dx + dy
        while true {
            setPixel(x, y, color)
            if x == b.0 && y == b.1 { break }
            let doubled = 2 * error
            if doubled >= dy { error += dy; x += sx }
            if doubled <= dx { error += dx; y += sy }
        }
    }

    mutating func setPixel(_ x: Int, _ y: Int, _ color: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = color.0
        pixels[i + 1] = color.1
        pixels[i + 2] = color.2
    }
}

extension Double {
    fileprivate func log10() -> Double { Foundation.log10(self) }
}
