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
        let sigma = Float(noiseStd)
        if sigma > 0 {
            for index in tile.indices {
                tile[index] = factor * tile[index] + offset + sigma * noiseStream.nextNormal()
            }
        } else {
            for index in tile.indices { tile[index] = factor * tile[index] + offset }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
