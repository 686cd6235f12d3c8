import EOData

/// An RGB canvas that tiles are pasted into, for reconstruction pictures (PNG via `PNGEncoder`).
///
/// Tiles come in the model's normalised space, [C, T, T] channel-major; `paste` undoes the dataset's
/// per-channel normalisation and maps the channels to RGB: 3+ channels use the first three, 1 or 2
/// channels are shown grey (channel 0). Values are clamped to [0, 255] after `displayRange` scaling.
public struct ImageGrid {
    public let width: Int
    public let height: Int
    public internal(set) var pixels: [UInt8]

    /// A canvas filled with `background` (grey level).
    public init(width: Int, height: Int, background: UInt8 = 255) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: background, count: width * height * 3)
    }

    /// Pastes a normalised tile at (x, y). `mask` [T·T] (true = hide) greys out hidden pixels.
    /// `displayRange` is the raw-unit interval shown as 0…255 (e.g. 0…255 for 8-bit imagery).
    public mutating func paste(tile: UnsafeBufferPointer<Float>, channels: Int, side: Int, at x: Int, y: Int,
                               stats: ChannelStats, displayRange: ClosedRange<Double>, mask: [Bool]? = nil) {
        precondition(tile.count == channels * side * side, "ImageGrid.paste: tile of \(tile.count) for [\(channels), \(side), \(side)]")
        precondition(x >= 0 && y >= 0 && x + side <= width && y + side <= height, "ImageGrid.paste: tile outside the canvas")
        let plane = side * side
        let span = displayRange.upperBound - displayRange.lowerBound
        for row in 0..<side {
            for column in 0..<side {
                let p = row * side + column
                let out = ((y + row) * width + x + column) * 3
                if let mask, mask[p] {
                    pixels[out] = 128; pixels[out + 1] = 128; pixels[out + 2] = 128
                    continue
                }
                for rgb in 0..<3 {
                    let c = channels >= 3 ? rgb : 0
                    let raw = Double(tile[c * plane + p]) * stats.std[c] + stats.mean[c]
                    let level = ((raw - displayRange.lowerBound) / span * 255).rounded()
                    pixels[out + rgb] = UInt8(max(0, min(255, level.isFinite ? level : 0)))
                }
            }
        }
    }

    public func png() -> [UInt8] {
        [UInt8](PNGEncoder.encode(width: width, height: height, channels: 3, pixels: pixels))
    }
}
