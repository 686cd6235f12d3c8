import TensorCore

/// Brightness / contrast / noise perturbation of the neighbour tile, in normalised units, to mimic
/// a revisit (METHOD.md §10): x' = c·x + b + σ·n with b ~ U(−brightness, brightness),
/// c = exp(U(−log(1 + contrast), log(1 + contrast))), n ~ N(0, 1) per pixel. One b and c per tile.
public struct PhotometricJitter: Codable, Equatable, Sendable {
    public var enabled = true
    public var brightness = 0.1
    public var contrast = 0.1
    public var noiseStd = 0.02

    public init() {}

    public init(enabled: Bool, brightness: Double, contrast: Double, noiseStd: Double) {
        self.enabled = enabled
        self.brightness = brightness
        self.contrast = contrast
        self.noiseStd = noiseStd
    }

    func validate() throws(EODataError) {
        if brightness < 0 || contrast < 0 || noiseStd < 0 {
            throw .invalidConfiguration("jitter amounts must be >= 0, got \(self)")
        }
    }

    /// Applies the jitter in place. tile: [C, T, T] normalised values.
    /// `jitterStream` draws b then c; `noiseStream` draws one normal per element in order.
    public func apply(to tile: UnsafeMutableBufferPointer<Float>, jitterStream: inout RandomStream,
                      noiseStream: inout RandomStream) {
        guard enabled else { return }
        let offset = Float(jitterStream.nextUniform(-brightness, brightness))
        let logContrast = log1p(contrast)
        let factor = Float(exp(jitterStream.nextUniform(-logContrast, logContrast)))
        for index in tile.indices { tile[index] = factor * tile[index] + offset }
        if noiseStd > 0 { Self.addGaussianNoise(to: tile, std: Float(noiseStd), stream: &noiseStream) }
    }

    /// Adds σ·N(0, 1) to every element: Box–Muller in Float, both outputs used, so one Philox block
    /// (4 × 32 bits: two (u1, u2) pairs of 24-bit uniforms) gives four normals. Element n uses the
    /// block n / 4, so the noise of a tile depends only on its stream.
    static func addGaussianNoise(to tile: UnsafeMutableBufferPointer<Float>, std: Float, stream: inout RandomStream) {
        var index = 0
        while index < tile.count {
            var normals = SIMD4<Float>()
            for pair in 0..<2 {
                let u1 = Float((stream.nextUInt32() >> 8) + 1) * 0x1p-24      // (0, 1]: log finite
                let u2 = Float(stream.nextUInt32() >> 8) * 0x1p-24
                let radius = (-2 * logf(u1)).squareRoot()
                let angle = 2 * Float.pi * u2
                normals[2 * pair] = radius * cosf(angle)
                normals[2 * pair + 1] = radius * sinf(angle)
            }
            for lane in 0..<min(4, tile.count - index) { tile[index + lane] += std * normals[lane] }
            index += 4
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
