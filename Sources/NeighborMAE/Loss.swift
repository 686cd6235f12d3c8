import TensorCore

// The NeighborMAE loss (METHOD.md §5), on full-resolution images, per image n = b·K + k:
//   t = norm-pix target (or x without normPixLoss); e = mean_c (pred − t)²;
//   K = 2: x̃, vis̃ = cross-projection of the neighbour (CrossProjection.swift),
//          e_proj = mean_c (x̃n − t)² with x̃n normalised by image n's patch statistics,
//          w0 = clamp(e_proj / (e + ε), 0, 1) where vis̃, 1 elsewhere;     K = 1: w0 = 1;
//   w = AvgPool(w0, weightKernel, count_include_pad=False), then w = 0 on image n's visible pixels;
//   L_weighted = Σ e·w / N,  L_plain = Σ e·(1 − visible) / N,  N = Σ (1 − visible) over the whole batch.
// The weights are constants for the gradient (stop-gradient, METHOD.md §8.10):
//   dL/dpred = w·2(pred − t)/(C·N).
// One task per image; per-image sums in Double (raster order), added over images in index order,
// so results are bitwise independent of the thread count.

/// Which loss the gradient is taken of: the optimised weighted loss, or the plain masked MSE (ablation).
public enum LossObjective: Sendable, Equatable {
    case weighted
    case plain
}

/// Everything the loss forward computed; the backward reads `target`, `weight` and `visibility`.
public struct LossOutput: Sendable {
    /// L_weighted = Σ e·w / N.
    public let weighted: Double
    /// L_plain = Σ e·(1 − visible) / N.
    public let plain: Double
    /// N = Σ (1 − visible), masked pixels over all images of the batch (the denominator of both losses).
    public let invisibleCount: Int
    /// w, [B, K, T, T]: smoothed weights, 0 on visible pixels.
    public let weight: Tensor
    /// t, [B, K, C, T, T].
    public let target: Tensor
    /// e, [B, K, T, T]: mean over channels of (pred − t)².
    public let pixelError: Tensor
    /// x̃, [B, K, C, T, T]: the neighbour resampled onto each image's grid (zeros for K = 1).
    public let imageProjection: Tensor
    /// vis̃, [B, K, T, T] as 0 / 1: the neighbour shows that ground point (zeros for K = 1).
    public let visibleProjection: Tensor
    /// The visibility the loss was given, [B, K, T, T] (0 / 1).
    public let visibility: Tensor

    /// The value of `objective`.
    public func value(_ objective: LossObjective) -> Double {
        objective == .weighted ? weighted : plain
    }
}

// MARK: - Forward

/// The loss of a batch. Shapes: pred, images [B, K, C, T, T]; visibility [B, K, T, T] (0 / 1, per pixel,
/// from `MaskPlan.pixelVisibility`); boxes [B, K, 4] in the pair frame (required for K = 2, unused for K = 1).
/// When no pixel is masked (N = 0) both losses are 0.
public func neighborLossForward(pred: Tensor, images: Tensor, visibility: Tensor, boxes: Tensor?,
                                config: ModelConfig, pool: ThreadPool? = nil) -> LossOutput {
    precondition(config.imagesPerSample == 1 || boxes?.shape == [images.shape.first ?? 0, 2, 4],
                 "neighborLoss: K = 2 needs boxes [B, 2, 4], got \(boxes?.shape ?? [])")
    return neighborLossForward(pred: pred, images: images, visibility: visibility,
                               boxes: boxes.map(TileBox.boxes(from:)) ?? [], config: config, pool: pool)
}

/// `neighborLossForward` with the B·K boxes as a list (sample-major; may be empty for K = 1).
public func neighborLossForward(pred: Tensor, images: Tensor, visibility: Tensor, boxes boxList: [TileBox],
                                config: ModelConfig, pool: ThreadPool? = nil) -> LossOutput {
    let geometry = PatchGeometry(config)
    let b = images.shape.first ?? 0, k = config.imagesPerSample, c = config.channels, t = config.imageSize
    precondition(images.shape == [b, k, c, t, t] && pred.shape == images.shape,
                 "neighborLoss: pred \(pred.shape), images \(images.shape); expected [\(b), \(k), \(c), \(t), \(t)]")
    precondition(visibility.shape == [b, k, t, t], "neighborLoss: visibility \(visibility.shape)")
    precondition(k == 1 || boxList.count == b * k, "neighborLoss: K = 2 needs \(b * k) boxes, got \(boxList.count)")
    let target = Tensor(zeros: images.shape), imageProjection = Tensor(zeros: images.shape)
    let weight = Tensor(zeros: visibility.shape), pixelError = Tensor(zeros: visibility.shape)
    let visibleProjection = Tensor(zeros: visibility.shape)
    var sums = [ImageLossSums](repeating: ImageLossSums(), count: b * k)
    withBuffers([pred, images, visibility]) { inputs in
        withMutableBuffers([target, imageProjection, visibleProjection, pixelError, weight]) { outputs in
            sums.withUnsafeMutableBufferPointer { sums in
                let job = ImageLossJob(geometry: geometry, config: config, boxes: boxList, pred: inputs[0],
                                       images: inputs[1], visibility: inputs[2], target: outputs[0],
                                       imageProjection: outputs[1], visibleProjection: outputs[2],
                                       pixelError: outputs[3], weight: outputs[4])
                forEachTask(b * k, pool) { n in sums[n] = job.run(image: n) }
            }
        }
    }
    var total = ImageLossSums()
    for partial in sums { total.add(partial) }
    let n = Double(total.invisible)
    return LossOutput(weighted: n > 0 ? total.weighted / n : 0, plain: n > 0 ? total.plain / n : 0,
                      invisibleCount: total.invisible, weight: weight, target: target, pixelError: pixelError,
                      imageProjection: imageProjection, visibleProjection: visibleProjection, visibility: visibility)
}

// MARK: - Backward

/// dPred += scale · w·2(pred − t)/(C·N), the gradient of `scale · output.value(objective)` with the weights
/// held constant (for `.plain`, w = 1 − visible). Shapes: pred, dPred [B, K, C, T, T] (dPred accumulated).
public func neighborLossBackward(pred: Tensor, output: LossOutput, dPred: Tensor, objective: LossObjective = .weighted,
                                 scale: Double = 1, pool: ThreadPool? = nil) {
    precondition(pred.shape == output.target.shape && dPred.shape == pred.shape,
                 "neighborLossBackward: pred \(pred.shape), dPred \(dPred.shape), target \(output.target.shape)")
    guard output.invisibleCount > 0 else { return }
    let images = pred.shape[0] * pred.shape[1], c = pred.shape[2], plane = pred.shape[3] * pred.shape[4]
    let coefficient = scale * 2 / (Double(c) * Double(output.invisibleCount))
    let weights = objective == .weighted ? output.weight : output.visibility
    withBuffers([pred, output.target, weights]) { inputs in
        dPred.withUnsafeMutableBufferPointer { dPred in
            let (p, target, w) = (inputs[0], inputs[1], inputs[2])
            forEachTask(images, pool) { n in
                for channel in 0..<c {
                    let base = (n * c + channel) * plane
                    for pixel in 0..<plane {
                        let weight = objective == .weighted ? Double(w[n * plane + pixel])
                                                            : 1 - Double(w[n * plane + pixel])
                        guard weight != 0 else { continue }
                        let difference = Double(p[base + pixel]) - Double(target[base + pixel])
                        dPred[base + pixel] += Float(coefficient * weight * difference)
                    }
                }
            }
        }
    }
}

// MARK: - Weighted error with given weights

/// Σ e·w / normalizer with e = mean_c (pred − t)², summed like the forward (per image in raster order,
/// images in order), so `weightedPixelLoss(pred, output.target, output.weight, N) == output.weighted`.
/// Shapes: pred, target [N, C, T, T] (or [B, K, C, T, T]); weight [N, T, T] (or [B, K, T, T]).
public func weightedPixelLoss(pred: Tensor, target: Tensor, weight: Tensor, normalizer: Double) -> Double {
    precondition(pred.shape == target.shape && pred.rank >= 3,
                 "weightedPixelLoss: pred \(pred.shape), target \(target.shape)")
    let c = pred.shape[pred.rank - 3], plane = pred.shape[pred.rank - 2] * pred.shape[pred.rank - 1]
    let images = pred.count / (c * plane)
    precondition(weight.count == images * plane, "weightedPixelLoss: weight \(weight.shape)")
    return withBuffers([pred, target, weight]) { buffers in
        var total = 0.0
        for n in 0..<images {
            let error = pixelErrors(pred: slice(buffers[0], n, c * plane), target: slice(buffers[1], n, c * plane),
                                    channels: c)
            total += weightedSum(error, slice(buffers[2], n, plane))
        }
        return total / normalizer
    }
}

/// e = mean over channels of (pred − t)² for one image. Shapes: pred, target [C, T, T] → [T·T].
func pixelErrors(pred: UnsafeBufferPointer<Float>, target: UnsafeBufferPointer<Float>, channels c: Int) -> [Double] {
    let plane = pred.count / c
    var error = [Double](repeating: 0, count: plane)
    for channel in 0..<c {
        for pixel in 0..<plane {
            let d = Double(pred[channel * plane + pixel]) - Double(target[channel * plane + pixel])
            error[pixel] += d * d
        }
    }
    for pixel in 0..<plane { error[pixel] /= Double(c) }
    return error
}

/// Σ e·w over one image, raster order.
func weightedSum(_ error: [Double], _ weight: UnsafeBufferPointer<Float>) -> Double {
    var sum = 0.0
    for pixel in error.indices { sum += error[pixel] * Double(weight[pixel]) }
    return sum
}
