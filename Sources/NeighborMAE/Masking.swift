import TensorCore

// Random masking with an IoU-dependent visible count (METHOD.md §4):
//   n = round((1 − (mrMin + IoU·(mrMax − mrMin)))·L)  (half to even), the same n for both images of a pair;
//   per image ids_shuffle = argsort(noise), ids_restore = argsort(ids_shuffle); the encoder gathers the
//   first n_max shuffled patches and key-masks ranks n…n_max−1; patch l is visible iff its rank < n.

/// Visible patches per image for a pair with box IoU `iou` (METHOD.md §4.2). At IoU 0 this is n_max.
/// IoU must lie in [0, 1] (up to 1e-12 of rounding, which is clamped away).
public func visibleCount(iou: Double, config: ModelConfig) -> Int {
    precondition(iou >= -1e-12 && iou <= 1 + 1e-12, "visibleCount: IoU \(iou) outside [0, 1]")
    let iou = min(max(iou, 0), 1)
    let maskRatio = config.maskRatioMin + iou * (config.maskRatioMax - config.maskRatioMin)
    return roundHalfToEven((1 - maskRatio) * Double(config.patchesPerImage))
}

/// Which patches of every image are visible, and in which order the encoder and decoder see them.
///
/// Shapes (row-major, B samples, K images per sample, L patches, n_max gathered tokens per image):
/// `shuffle` [B, K, L], `restore` [B, K, L], `visibleCounts` [B, K], `keptIndices` [B, K, n_max],
/// `keyValid` [B, K, n_max], `patchVisible` [B, K, L].
public struct MaskPlan: Sendable, Equatable {
    public let batchSize: Int
    public let imagesPerSample: Int
    public let patchesPerImage: Int
    public let maxVisible: Int
    /// ids_shuffle: patch indices in order of increasing noise; the first n of an image are visible.
    public let shuffle: [Int32]
    /// ids_restore: the rank of every patch in its image's shuffle (restore[shuffle[r]] = r).
    public let restore: [Int32]
    /// n per image.
    public let visibleCounts: [Int]

    /// A plan from given shuffles (e.g. a fixture's ids_shuffle) and visible counts.
    /// Traps unless every image's shuffle is a permutation of 0..<L and every n is in 0…n_max.
    public init(shuffle: [Int32], visibleCounts: [Int], batchSize: Int, config: ModelConfig) {
        let k = config.imagesPerSample, l = config.patchesPerImage
        precondition(shuffle.count == batchSize * k * l && visibleCounts.count == batchSize * k,
                     "MaskPlan: \(shuffle.count) shuffle indices and \(visibleCounts.count) counts for B = "
                         + "\(batchSize), K = \(k), L = \(l)")
        precondition(visibleCounts.allSatisfy { (0...config.maxVisiblePatches).contains($0) },
                     "MaskPlan: visible counts \(visibleCounts) outside 0...\(config.maxVisiblePatches)")
        var restore = [Int32](repeating: -1, count: shuffle.count)
        for image in 0..<(batchSize * k) {
            for rank in 0..<l {
                let patch = Int(shuffle[image * l + rank])
                precondition((0..<l).contains(patch) && restore[image * l + patch] == -1,
                             "MaskPlan: shuffle of image \(image) is not a permutation of 0..<\(l)")
                restore[image * l + patch] = Int32(rank)
            }
        }
        self.batchSize = batchSize
        self.imagesPerSample = k
        self.patchesPerImage = l
        self.maxVisible = config.maxVisiblePatches
        self.shuffle = shuffle
        self.restore = restore
        self.visibleCounts = visibleCounts
    }

    /// A random plan: sample b draws K·L uniform doubles from `streams[b]` (image 0's L values first),
    /// and each image's shuffle is their argsort (ties, practically impossible, broken by patch index).
    /// The streams are taken by value: pass a fresh stream per (sample, purpose).
    public init(streams: [RandomStream], visibleCounts: [Int], config: ModelConfig) {
        let k = config.imagesPerSample, l = config.patchesPerImage
        var shuffle = [Int32]()
        shuffle.reserveCapacity(streams.count * k * l)
        for var stream in streams {
            for _ in 0..<k {
                let noise = (0..<l).map { _ in stream.nextUniformDouble() }
                let order = (0..<l).sorted { noise[$0] < noise[$1] || (noise[$0] == noise[$1] && $0 < $1) }
                shuffle.append(contentsOf: order.map { Int32($0) })
            }
        }
        self.init(shuffle: shuffle, visibleCounts: visibleCounts, batchSize: streams.count, config: config)
    }

    /// n per image [B, K] from the pair IoU per sample [B] (both images of a sample share it).
    public static func visibleCounts(ious: [Double], config: ModelConfig) -> [Int] {
        ious.flatMap { iou in [Int](repeating: visibleCount(iou: iou, config: config), count: config.imagesPerSample) }
    }

    // MARK: - Derived views

    /// ids_keep [B, K, n_max]: the first n_max shuffled patches of every image (the encoder's tokens).
    public var keptIndices: [Int32] {
        (0..<(batchSize * imagesPerSample)).flatMap { image in
            shuffle[(image * patchesPerImage)..<(image * patchesPerImage + maxVisible)]
        }
    }

    /// [B·K·n_max] rows of a [B·K·L, ·] patch matrix for the encoder gather: image·L + keptIndices
    /// (for `gatherRows` / its backward `scatterAddRows`).
    public var keptRows: [Int32] {
        (0..<(batchSize * imagesPerSample)).flatMap { image in
            shuffle[(image * patchesPerImage)..<(image * patchesPerImage + maxVisible)]
                .map { Int32(image * patchesPerImage) + $0 }
        }
    }

    /// [B·K·L] rows in shuffled order: image·L + shuffle. Gathering raster-order rows with it gives shuffled
    /// order (e.g. PE_dec); scattering shuffled rows with it restores raster order (the decoder output).
    public var shuffledRows: [Int32] {
        shuffle.indices.map { Int32(($0 / patchesPerImage) * patchesPerImage) + shuffle[$0] }
    }

    /// [B, K, n_max]: true for gathered tokens that are really visible (rank < n).
    public var keyValid: [Bool] {
        (0..<(batchSize * imagesPerSample)).flatMap { image in
            (0..<maxVisible).map { $0 < visibleCounts[image] }
        }
    }

    /// [B·S] key mask of the encoder sequence [cls, image 0's n_max tokens, image 1's, …], S = 1 + K·n_max:
    /// cls always true, then `keyValid` (the `keyMask` argument of the attention layers).
    public var encoderKeyMask: [Bool] {
        let valid = keyValid, perSample = imagesPerSample * maxVisible
        return (0..<batchSize).flatMap { b in [true] + valid[(b * perSample)..<((b + 1) * perSample)] }
    }

    /// [B, K, L]: patch l of an image is visible iff restore[l] < n.
    public var patchVisible: [Bool] {
        restore.indices.map { Int(restore[$0]) < visibleCounts[$0 / patchesPerImage] }
    }

    /// N = Σ (L − n)·p², the masked pixels of the whole plan: the loss denominator, known before the forward
    /// (a shard of a batch scales its gradient by N_shard / N_batch to get the batch loss's gradient).
    public func maskedPixelCount(patchSize: Int) -> Int {
        Self.maskedPixelCount(visibleCounts: visibleCounts, patchesPerImage: patchesPerImage, patchSize: patchSize)
    }

    /// N for images with these visible counts, without drawing a plan (only the counts decide it).
    public static func maskedPixelCount(visibleCounts: [Int], patchesPerImage: Int, patchSize: Int) -> Int {
        visibleCounts.reduce(0) { $0 + (patchesPerImage - $1) * patchSize * patchSize }
    }

    /// Per-pixel visibility [B, K, T, T] as 0 / 1 floats (every pixel of a visible patch is 1).
    public func pixelVisibility(geometry: PatchGeometry) -> Tensor {
        precondition(geometry.patchesPerImage == patchesPerImage,
                     "pixelVisibility: geometry has \(geometry.patchesPerImage) patches, plan \(patchesPerImage)")
        let t = geometry.imageSize, p = geometry.patchSize, g = geometry.gridSize
        let visible = patchVisible
        let out = Tensor(zeros: [batchSize, imagesPerSample, t, t])
        out.withUnsafeMutableBufferPointer { map in
            for image in 0..<(batchSize * imagesPerSample) {
                for y in 0..<t {
                    for x in 0..<t where visible[image * patchesPerImage + (y / p) * g + x / p] {
                        map[(image * t + y) * t + x] = 1
                    }
                }
            }
        }
        return out
    }
}
