import TensorCore

/// The crop sampler of METHOD.md §1.2, for one crop inside an H × W (pixel) region.
///
/// aspect r = exp(U(log 3/4, log 4/3)); area factor a ~ U(0.2, 1.0); h = min(√a·H, W/r, H);
/// w = h·r; top = p_y·(H − h), left = p_x·(W − w) with p ~ U(0, 1). Draws, in order: r, a, p_y, p_x.
public struct CropRecipe: Codable, Equatable, Sendable {
    public var minAspect: Double = 3.0 / 4.0
    public var maxAspect: Double = 4.0 / 3.0
    public var minArea: Double = 0.2
    public var maxArea: Double = 1.0

    public init() {}

    public init(minAspect: Double, maxAspect: Double, minArea: Double, maxArea: Double) {
        self.minAspect = minAspect
        self.maxAspect = maxAspect
        self.minArea = minArea
        self.maxArea = maxArea
    }

    /// One crop window (pixels, relative to the region's top-left corner).
    public func sample(height: Double, width: Double, stream: inout RandomStream) -> PixelWindow {
        let aspect = exp(stream.nextUniform(log(minAspect), log(maxAspect)))
        let area = stream.nextUniform(minArea, maxArea)
        let h = min(area.squareRoot() * height, width / aspect, height)
        let w = min(h * aspect, width)          // (W / r)·r may exceed W by one ulp
        let top = stream.nextUniformDouble() * (height - h)
        let left = stream.nextUniformDouble() * (width - w)
        return PixelWindow(x: left, y: top, width: w, height: h)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
