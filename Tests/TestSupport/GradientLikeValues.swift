import Foundation
import TensorCore

/// Gradient-like test data: random signs, magnitudes log-uniform over 2^lowExponent ..< 2^highExponent.
public func gradientLikeValues(_ count: Int, tag: UInt32, lowExponent: Float = -45, highExponent: Float = 12) -> [Float] {
    var stream = CounterRNG(seed: 0xF1_C5ED).stream(tag)
    return (0..<count).map { _ in
        let magnitude = Float(exp2(Double(lowExponent + (highExponent - lowExponent) * stream.nextUniform())))
        return stream.nextUniform() < 0.5 ? -magnitude : magnitude
    }
}
