// MARK: - 64-bit fixed point for exact all-reduce (SYSTEM.md §4)

/// How float gradients are mapped to `Int64` so that sums are exact and order-free.
///
/// A value x becomes `round(x · 2^fractionBits)` (ties to even); the sum of the integers is converted back
/// with one rounding, `Float(sum) · 2^-fractionBits`. Integer addition is associative, so the all-reduced
/// result is bit-identical for any world size, ring order and grouping of shards into workers.
///
/// **The standard format: 40 fraction bits, inputs |x| < 2^18.**
/// - Resolution 2^-40 ≈ 9.1e-13 (absolute): a shard's value moves by at most 4.5e-13 when converted.
///   Measured on the CPU preset (`RingPeer gradient-stats --steps 40`: batch 64, 4 shards, 2.26M gradient
///   elements; docs/BENCHMARKS.md "Ring all-reduce"): max |g| 6.1e-2 at step 0 and 6e-3..2.3e-2 later, median
///   |g| 5.6e-6..1.3e-4, 0.01-0.04 % of the elements below 2^-40. Through fixed point, one shard's contribution
///   (g/4) has a relative L2 error <= 1.4e-8 at every step, below float32's own unit roundoff (6e-8), i.e.
///   smaller than the error of a single float addition in float mode. The worst absolute error, 4.5e-13,
///   is 4.5e-5 of AdamW's eps (1e-8), which bounds how much it can move an update m/(√v + eps) of an element
///   whose gradient is that small. Elements with |x| >= 2^-17 ≈ 7.6e-6 keep all 24 bits exactly
///   (6-58 % of the elements were smaller and lose low bits, within the error bound above).
/// - Headroom: the largest gradient seen (2^-4) is 22 binary orders below the input limit, so gradient
///   spikes of a diverging run are detected long before they could overflow. (A finer 2^44 scale with
///   |x| < 2^14 would also fit the data; 2^40 keeps more headroom for unclipped losses and larger models.)
/// - Range: an input must satisfy |x| < 2^18 = 262144 (anything larger is a diverged run; NaN and ±Inf
///   fail the same check). Then |x · 2^40| < 2^58, and any sum of up to 2^(63-58) = 32 shards stays
///   below 2^63, so no intermediate sum can overflow in any order: success and result are both
///   order-independent. With more summands an overflow is still detected (never wrapped), but whether
///   it happens can depend on the order.
/// - Detection: out-of-range inputs and overflowing sums produce the poison value `Int64.min`, which
///   every later addition propagates and the conversion back to float reports as a typed error.
public struct FixedPointFormat: Sendable, Equatable, CustomStringConvertible {
    /// Binary digits after the point: a value is stored as x · 2^fractionBits.
    public let fractionBits: Int
    /// Accepted inputs satisfy |x| < 2^inputMagnitudeBits.
    public let inputMagnitudeBits: Int

    /// The poison value: marks an element whose conversion or sum overflowed; it is sticky under addition.
    public static let poison = Int64.min

    /// 40 fraction bits, inputs below 2^18 in magnitude, 32 summands always safe (see the type's docs).
    public static let standard = FixedPointFormat(fractionBits: 40, inputMagnitudeBits: 18)

    public init(fractionBits: Int, inputMagnitudeBits: Int) {
        precondition((0...62).contains(fractionBits) && inputMagnitudeBits >= 0
                     && fractionBits + inputMagnitudeBits <= 62,
                     "FixedPointFormat: need fractionBits + inputMagnitudeBits <= 62 (got \(fractionBits), "
                     + "\(inputMagnitudeBits))")
        self.fractionBits = fractionBits
        self.inputMagnitudeBits = inputMagnitudeBits
    }

    /// 2^fractionBits as a float (exact).
    public var scale: Float { Float(sign: .plus, exponent: fractionBits, significand: 1) }
    /// 2^-fractionBits as a float (exact).
    public var inverseScale: Float { Float(sign: .plus, exponent: -fractionBits, significand: 1) }
    /// Inputs must be strictly below this in magnitude.
    public var inputLimit: Float { Float(sign: .plus, exponent: inputMagnitudeBits, significand: 1) }
    /// How many in-range values can always be summed without any possible overflow.
    public var safeSummands: Int { 1 << (63 - fractionBits - inputMagnitudeBits) }

    public var description: String {
        "fixed point 2^\(fractionBits) (resolution \(inverseScale), |x| < 2^\(inputMagnitudeBits), "
            + "\(safeSummands) summands safe)"
    }
}

/// A fixed-point conversion or sum that cannot be represented.
public enum FixedPointError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An input element was NaN, infinite or too large for the format.
    case inputOutOfRange(index: Int, value: Float, format: FixedPointFormat)
    /// A sum overflowed (or carried the poison of an earlier failure, such as an input out of range that was
    /// converted where it was added) at this element.
    case overflow(index: Int, format: FixedPointFormat)

    public var description: String {
        switch self {
        case let .inputOutOfRange(index, value, format):
            "[fixedpoint] gradient element \(index) is \(value), outside \(format); "
                + "hint: the run diverged (lower the learning rate or clip gradients) or the input is corrupt"
        case let .overflow(index, format):
            "[fixedpoint] the sum at element \(index) overflowed \(format) or met an input outside it (NaN, ±Inf); "
                + "hint: the run diverged, or too many summands of extreme size; lower the learning rate, clip "
                + "gradients or use fewer fraction bits"
        }
    }
}
