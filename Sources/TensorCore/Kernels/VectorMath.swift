// Branch-free approximations of exp, erf, and the standard normal CDF Φ and density φ, written to be
// vectorised: scalar libm calls per element are far too slow for activations of millions of elements.
//
// Why scalar functions and not SIMD16<Float> code: the stdlib's SIMD16 operations are lane loops that
// LLVM's SLP vectoriser must re-vectorise, and in code this long it gives up (measured: the SIMD16
// version compiled to mostly scalar vmulss/vfmadd213ss, 10 ns/element GELU). The same formula as a
// scalar function (selects, no branches, no calls) inside a counted loop over raw pointers is
// vectorised by LLVM's loop vectoriser (ymm/zmm vmulps), and its remainder iterations compute the very
// same operations, so every element gets an identical result wherever it sits in a buffer.
// Polynomials use `Float.addingProduct` (llvm.fma), which vectorises to vfmadd; the remainder
// iterations use the same FMA, so vector and scalar paths agree bit for bit.
//
// Methods (coefficients derived for this project, not copied):
// - exp: Cody–Waite range reduction x = n·ln2 + r, |r| ≤ ln2/2 (ln2 split into 355/512, whose
//   product with n is exact, and a small remainder), then the degree-7 Taylor polynomial of e^r
//   (truncation error < 6e-9 relative) and 2^n built in the exponent bits. Measured max relative
//   error 7.4e-8 over [−87, 88] (VectorMathTests).
// - erf: two regions of |z|. For |z| ≤ 1, erf(z) = z·P(z²) with P of degree 6; for 1 < |z| < 3.92,
//   erfc(|z|) = Q(u), u = (|z| − 2.46)/1.46 ∈ (−1, 1], Q of degree 14. P and Q are Chebyshev
//   interpolants (Chebyshev-node least-squares fits, near-minimax; Trefethen, "Approximation
//   Theory and Approximation Practice", ch. 4) converted to monomial form and evaluated by Horner with FMA
//   (Q split into even and odd halves in u² to halve the dependency chain).
//   Truncation error in exact arithmetic: 1.1e-9 (P) and 6.9e-9 (Q); beyond 3.92,
//   erf(z) rounds to ±1 in Float. Measured max |error| against Double erf over a dense grid of
//   [−10, 10] (VectorMathTests): 1.24e-7 (near |z| = 1, float rounding of z·P; about 1 ulp of 1).
// - Φ(x) = ½(1 + erf(x/√2)) uses erfc directly on the negative side (Φ = ½·erfc(|z|)) instead of
//   cancelling in 1 + erf, so GELU's left tail keeps its relative accuracy. Measured max |error|
//   over [−15, 15]: 9.6e-8.

// MARK: - exp

/// e^x. Returns exactly 0 for x < −87.336 (where e^x leaves the normal range, including −∞), and
/// e^88.376 (≈ 2.4e38) for larger x. Max relative error 7.4e-8.
@inlinable @inline(__always)
public func expApproximation(_ x: Float) -> Float {
    let lowest: Float = -87.336_544        // ln(2^−126)
    let highest: Float = 88.376_26          // keeps n ≤ 127
    let clamped = x < lowest ? lowest : (x > highest ? highest : x)
    // n = round(x / ln2) through the 1.5·2^23 trick: the sum's low mantissa bits hold n.
    let magic: Float = 12_582_912
    let shifted = clamped * 1.442_695_04 + magic
    let n = shifted - magic
    // ln2 = 355/512 + ln2Low: n·355/512 is exact for |n| ≤ 128, so x − n·355/512 is exact.
    let r = (clamped - n * 0.693_359_375) - n * -2.121_944_4e-4
    var p: Float = 1.0 / 5040
    p = Float(1.0 / 720).addingProduct(p, r)
    p = Float(1.0 / 120).addingProduct(p, r)
    p = Float(1.0 / 24).addingProduct(p, r)
    p = Float(1.0 / 6).addingProduct(p, r)
    p = Float(0.5).addingProduct(p, r)
    p = Float(1).addingProduct(p, r)
    p = Float(1).addingProduct(p, r)
    let twoToN = Float(bitPattern: (shifted.bitPattern &- magic.bitPattern &+ 127) &<< 23)
    return x < lowest ? 0 : p * twoToN
}

/// `expApproximation` on 16 lanes with the same constants and operations in the same order, so every lane
/// equals the scalar result bit for bit. Written out in SIMD16 operations for short row loops (softmax
/// rows of 48–144 entries) where the loop vectoriser's set-up and scalar tail cost more than the exp.
/// The code is short enough that LLVM keeps it in zmm registers (unlike GELU's long polynomials above).
@inlinable @inline(__always)
public func expApproximation(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let lowest = SIMD16<Float>(repeating: -87.336_544), highest = SIMD16<Float>(repeating: 88.376_26)
    let clamped = x.replacing(with: lowest, where: x .< lowest).replacing(with: highest, where: x .> highest)
    let magic = SIMD16<Float>(repeating: 12_582_912)
    let shifted = clamped * 1.442_695_04 + magic
    let n = shifted - magic
    let r = (clamped - n * 0.693_359_375) - n * -2.121_944_4e-4
    var p = SIMD16<Float>(repeating: 1.0 / 5040)
    p = SIMD16<Float>(repeating: 1.0 / 720).addingProduct(p, r)
    p = SIMD16<Float>(repeating: 1.0 / 120).addingProduct(p, r)
    p = SIMD16<Float>(repeating: 1.0 / 24).addingProduct(p, r)
    p = SIMD16<Float>(repeating: 1.0 / 6).addingProduct(p, r)
    p = SIMD16<Float>(repeating: 0.5).addingProduct(p, r)
    p = SIMD16<Float>(repeating: 1).addingProduct(p, r)
    p = SIMD16<Float>(repeating: 1).addingProduct(p, r)
    // (bits(shifted) − bits(magic) + 127) << 23, as in the scalar version
    let exponent = unsafeBitCast(shifted, to: SIMD16<UInt32>.self) &- SIMD16<UInt32>(repeating: 0x4B40_0000 &- 127)
    let twoToN = unsafeBitCast(exponent &<< 23, to: SIMD16<Float>.self)
    return (p * twoToN).replacing(with: 0, where: x .< lowest)
}

// MARK: - erf

/// erf(z)/z for |z| ≤ 1, as a polynomial in s = z².
@inlinable @inline(__always)
func erfSmallFactor(_ s: Float) -> Float {
    var p: Float = 7.88249745e-05
    p = Float(-0.000801885501).addingProduct(p, s)
    p = Float(0.00518931216).addingProduct(p, s)
    p = Float(-0.0268543288).addingProduct(p, s)
    p = Float(0.112835974).addingProduct(p, s)
    p = Float(-0.37612626).addingProduct(p, s)
    p = Float(1.12837911).addingProduct(p, s)
    return p
}

/// erfc(a) for 1 ≤ a ≤ 3.92 (a is clamped to that range).
@inlinable @inline(__always)
func erfcLarge(_ a: Float) -> Float {
    let u = ((a < 1 ? 1 : (a > 3.92 ? 3.92 : a)) - 2.46) * (1 / 1.46)
    let w = u * u
    // Even and odd halves: two independent FMA chains of 7 instead of one of 14.
    var even: Float = -0.000218841888
    even = Float(0.00162586605).addingProduct(even, w)
    even = Float(-0.00333701726).addingProduct(even, w)
    even = Float(-0.00734763546).addingProduct(even, w)
    even = Float(0.0284476466).addingProduct(even, w)
    even = Float(0.0450472608).addingProduct(even, w)
    even = Float(0.0139289843).addingProduct(even, w)
    even = Float(0.0005033536).addingProduct(even, w)
    var odd: Float = -1.298597e-05
    odd = Float(-0.00158740859).addingProduct(odd, w)
    odd = Float(0.00903112348).addingProduct(odd, w)
    odd = Float(-0.00649525132).addingProduct(odd, w)
    odd = Float(-0.0451070219).addingProduct(odd, w)
    odd = Float(-0.0305999443).addingProduct(odd, w)
    odd = Float(-0.00387810613).addingProduct(odd, w)
    return even.addingProduct(u, odd)
}

/// erf(x); max |error| 1.24e-7 (see the file comment).
@inlinable @inline(__always)
public func erfApproximation(_ x: Float) -> Float {
    let a = Float(bitPattern: x.bitPattern & 0x7FFF_FFFF)
    let central = a * erfSmallFactor(a * a)
    let tail = a >= 3.92 ? 1 : 1 - erfcLarge(a)
    let magnitude = a > 1 ? tail : central
    return Float(bitPattern: magnitude.bitPattern | (x.bitPattern & 0x8000_0000))
}

// MARK: - Normal distribution

/// Φ(x) = ½(1 + erf(x/√2)), the standard normal CDF (absolute error 9.6e-8).
@inlinable @inline(__always)
public func normalCDFApproximation(_ x: Float) -> Float {
    let z = x * 0.707_106_77
    let a = Float(bitPattern: z.bitPattern & 0x7FFF_FFFF)
    let central = 0.5 * (z * erfSmallFactor(z * z)) + 0.5
    let halfTail = 0.5 * erfcLarge(a)
    let farTail: Float = x < 0 ? 0 : 1
    let tail = a >= 3.92 ? farTail : (x < 0 ? halfTail : 1 - halfTail)
    return a > 1 ? tail : central
}

/// φ(x) = e^(−x²/2)/√(2π), the standard normal density.
@inlinable @inline(__always)
public func normalPDFApproximation(_ x: Float) -> Float {
    expApproximation(x * x * -0.5) * 0.398_942_28
}
