// Vectorised transcendental functions on SIMD16<Float>: exp, erf, and the standard normal CDF Φ.
// Scalar libm calls per element are far too slow for activations of millions of elements.
//
// Methods (coefficients derived for this project, not copied):
// - exp: Cody–Waite range reduction x = n·ln2 + r, |r| ≤ ln2/2 (ln2 split in a high and a low
//   part, both applied with FMA), then the degree-7 Taylor polynomial of e^r (truncation error
//   < 6e-9 relative) and 2^n built in the exponent bits. Measured max relative error 7.3e-8 over
//   [−87, 88] (VectorMathTests).
// - erf: two regions of |z|. For |z| ≤ 1, erf(z) = z·P(z²) with P of degree 6; for 1 < |z| < 3.92,
//   erfc(|z|) = Q(u), u = (|z| − 2.46)/1.46 ∈ (−1, 1], Q of degree 14. P and Q are Chebyshev
//   interpolants (Chebyshev-node least-squares fits, near-minimax; Trefethen, "Approximation
//   Theory and Approximation Practice", ch. 4) converted to monomial form and evaluated by Horner
//   with FMA. Truncation error in exact arithmetic: 1.1e-9 (P) and 6.9e-9 (Q); beyond 3.92,
//   erf(z) rounds to ±1 in Float. Measured max |error| against Double erf over a dense grid of
//   [−10, 10] (VectorMathTests): 1.24e-7 (near |z| = 1, float rounding of z·P; about 1 ulp of 1).
// - Φ(x) = ½(1 + erf(x/√2)) uses erfc directly on the negative side (Φ = ½·erfc(|z|)) instead of
//   cancelling in 1 + erf, so GELU's left tail keeps its relative accuracy. Measured max |error|
//   over [−15, 15]: 9.6e-8.

// MARK: - exp

/// e^x lanewise. Returns exactly 0 for x < −87.336 (where e^x leaves the normal range, including −∞),
/// and e^88.376 (≈ 2.4e38) for larger x.
@inline(__always)
public func vectorExp(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let lowest: Float = -87.336_544        // ln(2^−126)
    let highest: Float = 88.376_26          // keeps n ≤ 127
    let clamped = x.clamped(lowerBound: SIMD16(repeating: lowest), upperBound: SIMD16(repeating: highest))
    // n = round(x / ln2) through the 1.5·2^23 trick: the sum's low mantissa bits hold n.
    let magic = SIMD16<Float>(repeating: 12_582_912)
    let shifted = magic.addingProduct(clamped, SIMD16(repeating: 1.442_695_04))
    let n = shifted - magic
    var r = clamped.addingProduct(n, SIMD16(repeating: -0.693_147_18))      // −n·ln2 (high part)
    r = r.addingProduct(n, SIMD16(repeating: 1.904_654_3e-9))               // −n·ln2 (low part)
    var p = SIMD16<Float>(repeating: 1.0 / 5040)
    p = SIMD16<Float>(repeating: 1.0 / 720).addingProduct(r, p)
    p = SIMD16<Float>(repeating: 1.0 / 120).addingProduct(r, p)
    p = SIMD16<Float>(repeating: 1.0 / 24).addingProduct(r, p)
    p = SIMD16<Float>(repeating: 1.0 / 6).addingProduct(r, p)
    p = SIMD16<Float>(repeating: 0.5).addingProduct(r, p)
    p = SIMD16<Float>(repeating: 1).addingProduct(r, p)
    p = SIMD16<Float>(repeating: 1).addingProduct(r, p)
    let nBits = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- unsafeBitCast(magic, to: SIMD16<Int32>.self)
    let twoToN = unsafeBitCast((nBits &+ 127) &<< 23, to: SIMD16<Float>.self)
    return (p * twoToN).replacing(with: 0, where: x .< lowest)
}

// MARK: - erf

/// Regions of the erf approximation.
@usableFromInline let erfSmallLimit: Float = 1
@usableFromInline let erfUnitLimit: Float = 3.92

/// erf(z)/z for |z| ≤ 1, as a polynomial in s = z².
@inline(__always)
func erfSmallFactor(_ s: SIMD16<Float>) -> SIMD16<Float> {
    var p = SIMD16<Float>(repeating: 7.88249745e-05)
    p = SIMD16<Float>(repeating: -0.000801885501).addingProduct(s, p)
    p = SIMD16<Float>(repeating: 0.00518931216).addingProduct(s, p)
    p = SIMD16<Float>(repeating: -0.0268543288).addingProduct(s, p)
    p = SIMD16<Float>(repeating: 0.112835974).addingProduct(s, p)
    p = SIMD16<Float>(repeating: -0.37612626).addingProduct(s, p)
    p = SIMD16<Float>(repeating: 1.12837911).addingProduct(s, p)
    return p
}

/// erfc(a) for 1 ≤ a ≤ 3.92 (a is clamped to that range).
@inline(__always)
func erfcLarge(_ a: SIMD16<Float>) -> SIMD16<Float> {
    let u = (a.clamped(lowerBound: SIMD16(repeating: erfSmallLimit), upperBound: SIMD16(repeating: erfUnitLimit))
        - 2.46) * (1 / 1.46)
    var q = SIMD16<Float>(repeating: -0.000218841888)
    q = SIMD16<Float>(repeating: -1.298597e-05).addingProduct(u, q)
    q = SIMD16<Float>(repeating: 0.00162586605).addingProduct(u, q)
    q = SIMD16<Float>(repeating: -0.00158740859).addingProduct(u, q)
    q = SIMD16<Float>(repeating: -0.00333701726).addingProduct(u, q)
    q = SIMD16<Float>(repeating: 0.00903112348).addingProduct(u, q)
    q = SIMD16<Float>(repeating: -0.00734763546).addingProduct(u, q)
    q = SIMD16<Float>(repeating: -0.00649525132).addingProduct(u, q)
    q = SIMD16<Float>(repeating: 0.0284476466).addingProduct(u, q)
    q = SIMD16<Float>(repeating: -0.0451070219).addingProduct(u, q)
    q = SIMD16<Float>(repeating: 0.0450472608).addingProduct(u, q)
    q = SIMD16<Float>(repeating: -0.0305999443).addingProduct(u, q)
    q = SIMD16<Float>(repeating: 0.0139289843).addingProduct(u, q)
    q = SIMD16<Float>(repeating: -0.00387810613).addingProduct(u, q)
    q = SIMD16<Float>(repeating: 0.0005033536).addingProduct(u, q)
    return q
}

@inline(__always)
func absoluteValue(_ x: SIMD16<Float>) -> SIMD16<Float> {
    unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: SIMD16<Float>.self)
}

/// erf(x) lanewise; max |error| 1.24e-7 (see the file comment).
@inline(__always)
public func vectorErf(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let a = absoluteValue(x)
    let small = a * erfSmallFactor(a * a)
    var magnitude = small.replacing(with: 1 - erfcLarge(a), where: a .> erfSmallLimit)
    magnitude.replace(with: 1, where: a .>= erfUnitLimit)
    let sign = unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0x8000_0000
    return unsafeBitCast(unsafeBitCast(magnitude, to: SIMD16<UInt32>.self) | sign, to: SIMD16<Float>.self)
}

// MARK: - Normal distribution

/// Φ(x) = ½(1 + erf(x/√2)), the standard normal CDF, lanewise (absolute error ≤ ~1e-7).
@inline(__always)
public func vectorNormalCDF(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let z = x * 0.707_106_77
    let a = absoluteValue(z)
    let central = SIMD16<Float>(repeating: 0.5).addingProduct(SIMD16(repeating: 0.5), z * erfSmallFactor(z * z))
    let halfTail = 0.5 * erfcLarge(a)
    let negative = x .< 0
    var tail = (1 - halfTail).replacing(with: halfTail, where: negative)
    tail.replace(with: SIMD16(repeating: 1).replacing(with: 0, where: negative), where: a .>= erfUnitLimit)
    return central.replacing(with: tail, where: a .> erfSmallLimit)
}

/// φ(x) = e^(−x²/2)/√(2π), the standard normal density, lanewise.
@inline(__always)
public func vectorNormalPDF(_ x: SIMD16<Float>) -> SIMD16<Float> {
    vectorExp(x * x * -0.5) * 0.398_942_28
}
