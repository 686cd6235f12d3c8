/// Philox4x32-10, the counter-based generator of Salmon et al., "Parallel random numbers: as easy
/// as 1, 2, 3" (SC'11), as in Random123 and PyTorch/JAX.
///
/// A pure function of (key, counter): 128 random bits for any 128-bit counter under a 64-bit key,
/// with no state and no dependence on call order. That is what lets every process draw the crops,
/// masks and jitter of sample i of epoch e identically, in any order (SYSTEM.md §4).
public enum Philox4x32 {
    // Round multipliers and Weyl key increments from the paper / Random123.
    @usableFromInline static let multiplier0: UInt32 = 0xD251_1F53
    @usableFromInline static let multiplier1: UInt32 = 0xCD9E_8D57
    @usableFromInline static let weyl0: UInt32 = 0x9E37_79B9
    @usableFromInline static let weyl1: UInt32 = 0xBB67_AE85

    /// The 10-round block function.
    @inlinable
    public static func block(counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
        var c = counter
        var k = key
        for round in 0..<10 {
            if round > 0 {
                k.x &+= weyl0
                k.y &+= weyl1
            }
            let product0 = UInt64(multiplier0) &* UInt64(c.x)
            let product1 = UInt64(multiplier1) &* UInt64(c.z)
            c = SIMD4(UInt32(truncatingIfNeeded: product1 >> 32) ^ c.y ^ k.x,
                      UInt32(truncatingIfNeeded: product1),
                      UInt32(truncatingIfNeeded: product0 >> 32) ^ c.w ^ k.y,
                      UInt32(truncatingIfNeeded: product0))
        }
        return c
    }
}

/// A keyed family of random streams: `stream(a, b, c)` is a fresh, independent sequence for every
/// triple (for example (epoch, sample id, purpose)), the same in every process and thread.
public struct CounterRNG: Sendable, Hashable {
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
    }

    @inlinable
    var key: SIMD2<UInt32> {
        SIMD2(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
    }

    /// The raw 128-bit block at counter (a, b, c, block).
    @inlinable
    public func bits(_ a: UInt32, _ b: UInt32, _ c: UInt32, block: UInt32) -> SIMD4<UInt32> {
        Philox4x32.block(counter: SIMD4(a, b, c, block), key: key)
    }

    /// The stream for counter words (a, b, c); the fourth word counts blocks within it
    /// (2^32 blocks of 4 values each).
    @inlinable
    public func stream(_ a: UInt32, _ b: UInt32 = 0, _ c: UInt32 = 0) -> RandomStream {
        RandomStream(rng: self, words: SIMD3(a, b, c))
    }
}

/// A sequential reader over one Philox stream. Cheap to create; create one per (sample, purpose)
/// rather than sharing one across samples, so draws never depend on who drew before.
public struct RandomStream: Sendable {
    @usableFromInline let rng: CounterRNG
    @usableFromInline let words: SIMD3<UInt32>
    @usableFromInline var blockIndex: UInt32 = 0
    @usableFromInline var buffered = SIMD4<UInt32>()
    @usableFromInline var position = 4

    @inlinable
    init(rng: CounterRNG, words: SIMD3<UInt32>) {
        self.rng = rng
        self.words = words
    }

    /// The next 32 random bits.
    @inlinable
    public mutating func nextUInt32() -> UInt32 {
        if position == 4 {
            buffered = rng.bits(words.x, words.y, words.z, block: blockIndex)
            blockIndex &+= 1
            position = 0
        }
        defer { position += 1 }
        return buffered[position]
    }

    /// The next 64 random bits.
    @inlinable
    public mutating func nextUInt64() -> UInt64 {
        UInt64(nextUInt32()) << 32 | UInt64(nextUInt32())
    }

    /// Uniform in [0, 1) with 24 random bits (every value exactly representable as Float).
    @inlinable
    public mutating func nextUniform() -> Float {
        Float(nextUInt32() >> 8) * 0x1p-24
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inlinable
    public mutating func nextUniformDouble() -> Double {
        Double(nextUInt64() >> 11) * 0x1p-53
    }

    /// Uniform in [low, high).
    @inlinable
    public mutating func nextUniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * nextUniformDouble()
    }

    /// Uniform integer in 0..<bound (Lemire's multiply-shift, unbiased by rejection).
    @inlinable
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0 && bound <= Int(UInt32.max), "nextInt: bound \(bound) out of range")
        let range = UInt32(bound)
        var product = UInt64(nextUInt32()) &* UInt64(range)
        if UInt32(truncatingIfNeeded: product) < range {
            let threshold = (0 &- range) % range
            while UInt32(truncatingIfNeeded: product) < threshold {
                product = UInt64(nextUInt32()) &* UInt64(range)
            }
        }
        return Int(product >> 32)
    }

    /// Standard normal (Box-Muller in double precision; one value per call, the pair's second
    /// value is discarded so the count of draws never depends on parity).
    @inlinable
    public mutating func nextNormal() -> Float {
        let u1 = 1 - nextUniformDouble()          // (0, 1]: log is finite
        let u2 = nextUniformDouble()
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    /// Fills `buffer` with uniforms in [0, 1).
    @inlinable
    public mutating func fillUniform(_ buffer: UnsafeMutableBufferPointer<Float>) {
        for index in buffer.indices { buffer[index] = nextUniform() }
    }

    /// Fills `buffer` with normals of the given mean and standard deviation.
    @inlinable
    public mutating func fillNormal(_ buffer: UnsafeMutableBufferPointer<Float>, mean: Float = 0, std: Float = 1) {
        for index in buffer.indices { buffer[index] = mean + std * nextNormal() }
    }
}

#if canImport(Glibc)
import Glibc
@usableFromInline func _log(_ x: Double) -> Double { Glibc.log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#elseif canImport(Darwin)
import Darwin
@usableFromInline func _log(_ x: Double) -> Double { Darwin.log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
