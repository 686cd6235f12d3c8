// Smoothing of the loss weights (METHOD.md §5.4): AvgPool2d(kernel k, stride 1, padding (k − 1)/2,
// count_include_pad=False) on one [H, W] map: every output is the mean of the k × k window centred on
// it, clipped to the image (the divisor counts only in-image values). k odd. Double in and out.
// The fast version sums rows then columns (2k adds per pixel instead of k²); the sums run in a
// different order from the reference, so the two agree to rounding (a few ulps), not bitwise.

/// Naive window mean. Shapes: input [H, W], output [H, W] (overwritten).
public func averagePoolReference(_ input: UnsafeBufferPointer<Double>, height: Int, width: Int, kernel: Int,
                                 into output: UnsafeMutableBufferPointer<Double>) {
    precondition(kernel >= 1 && kernel % 2 == 1, "averagePoolReference: kernel \(kernel) must be odd")
    precondition(input.count == height * width && output.count == input.count, "averagePoolReference: shapes")
    let r = kernel / 2
    for y in 0..<height {
        for x in 0..<width {
            var sum = 0.0, count = 0
            for yy in max(0, y - r)...min(height - 1, y + r) {
                for xx in max(0, x - r)...min(width - 1, x + r) {
                    sum += input[yy * width + xx]
                    count += 1
                }
            }
            output[y * width + x] = sum / Double(count)
        }
    }
}

/// Separable window mean, the fast path of `averagePoolReference`.
/// Shapes: input [H, W], output [H, W] (overwritten); `scratch` [H, W] holds the row sums.
public func averagePool(_ input: UnsafeBufferPointer<Double>, height: Int, width: Int, kernel: Int,
                        scratch: UnsafeMutableBufferPointer<Double>, into output: UnsafeMutableBufferPointer<Double>) {
    precondition(kernel >= 1 && kernel % 2 == 1, "averagePool: kernel \(kernel) must be odd")
    precondition(input.count == height * width && output.count == input.count && scratch.count == input.count,
                 "averagePool: shapes")
    let r = kernel / 2
    for y in 0..<height {
        let row = y * width
        for x in 0..<width {
            var sum = 0.0
            for xx in max(0, x - r)...min(width - 1, x + r) { sum += input[row + xx] }
            scratch[row + x] = sum
        }
    }
    for y in 0..<height {
        let low = max(0, y - r), high = min(height - 1, y + r)
        let rows = Double(high - low + 1)
        for x in 0..<width {
            var sum = 0.0
            for yy in low...high { sum += scratch[yy * width + x] }
            let columns = Double(min(width - 1, x + r) - max(0, x - r) + 1)
            output[y * width + x] = sum / (rows * columns)
        }
    }
}
