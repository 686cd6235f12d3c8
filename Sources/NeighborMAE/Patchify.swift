import TensorCore

// Images ↔ patch vectors (METHOD.md §1.6, `nchpwq -> nhwpqc`):
//   patches[n, i·G + j, (r·p + s)·C + c] = images[n, c, i·p + r, j·p + s]
// Shapes: images [N, C, T, T], patches [N, L, P] with N images (N = B·K), G = T/p, L = G², P = p²·C.
// The two maps are exact inverses, so each one's backward is the other (accumulating).

/// Image geometry shared by the patch kernels: C channels, T × T pixels, p × p patches.
public struct PatchGeometry: Sendable, Equatable {
    public let channels: Int
    public let imageSize: Int
    public let patchSize: Int

    public init(channels: Int, imageSize: Int, patchSize: Int) {
        precondition(channels >= 1 && patchSize >= 1 && imageSize >= patchSize && imageSize % patchSize == 0,
                     "PatchGeometry: tile \(imageSize) must be a positive multiple of patch \(patchSize), C >= 1")
        self.channels = channels
        self.imageSize = imageSize
        self.patchSize = patchSize
    }

    public init(_ config: ModelConfig) {
        self.init(channels: config.channels, imageSize: config.imageSize, patchSize: config.patchSize)
    }

    /// G = T / p.
    public var gridSize: Int { imageSize / patchSize }
    /// L = G².
    public var patchesPerImage: Int { gridSize * gridSize }
    /// P = p²·C.
    public var patchDimension: Int { patchSize * patchSize * channels }
    /// C·T², floats per image.
    public var imageElements: Int { channels * imageSize * imageSize }
}

// MARK: - Kernels

/// patches = patchify(images). Shapes: images [N, C, T, T], patches [N, L, P] (overwritten).
public func patchifyForward(images: UnsafeBufferPointer<Float>, patches: UnsafeMutableBufferPointer<Float>,
                            imageCount: Int, geometry: PatchGeometry, pool: ThreadPool? = nil) {
    movePatchPixels(imageCount, geometry, images.count, patches.count, "patchifyForward", pool) { pixel, patch in
        patches[patch] = images[pixel]
    }
}

/// dImages += unpatchify(dPatches), the backward of `patchifyForward`.
/// Shapes: dPatches [N, L, P], dImages [N, C, T, T] (accumulated).
public func patchifyBackward(dPatches: UnsafeBufferPointer<Float>, dImages: UnsafeMutableBufferPointer<Float>,
                             imageCount: Int, geometry: PatchGeometry, pool: ThreadPool? = nil) {
    movePatchPixels(imageCount, geometry, dImages.count, dPatches.count, "patchifyBackward", pool) { pixel, patch in
        dImages[pixel] += dPatches[patch]
    }
}

/// images = unpatchify(patches). Shapes: patches [N, L, P], images [N, C, T, T] (overwritten).
public func unpatchifyForward(patches: UnsafeBufferPointer<Float>, images: UnsafeMutableBufferPointer<Float>,
                              imageCount: Int, geometry: PatchGeometry, pool: ThreadPool? = nil) {
    movePatchPixels(imageCount, geometry, images.count, patches.count, "unpatchifyForward", pool) { pixel, patch in
        images[pixel] = patches[patch]
    }
}

/// dPatches += patchify(dImages), the backward of `unpatchifyForward`.
/// Shapes: dImages [N, C, T, T], dPatches [N, L, P] (accumulated).
public func unpatchifyBackward(dImages: UnsafeBufferPointer<Float>, dPatches: UnsafeMutableBufferPointer<Float>,
                               imageCount: Int, geometry: PatchGeometry, pool: ThreadPool? = nil) {
    movePatchPixels(imageCount, geometry, dImages.count, dPatches.count, "unpatchifyBackward", pool) { pixel, patch in
        dPatches[patch] += dImages[pixel]
    }
}

/// Calls `body(pixelIndex, patchIndex)` for every element, one task per image (each task touches
/// only its own image, so the result does not depend on the pool).
@inline(__always)
private func movePatchPixels(_ imageCount: Int, _ geometry: PatchGeometry, _ imageBufferCount: Int,
                             _ patchBufferCount: Int, _ name: String, _ pool: ThreadPool?,
                             _ body: (_ pixel: Int, _ patch: Int) -> Void) {
    let perImage = geometry.imageElements
    precondition(imageBufferCount == imageCount * perImage && patchBufferCount == imageCount * perImage,
                 "\(name): buffers of \(imageBufferCount) and \(patchBufferCount) floats, expected "
                     + "\(imageCount) images of \(perImage)")
    let c = geometry.channels, t = geometry.imageSize, p = geometry.patchSize, g = geometry.gridSize
    let work = { (n: Int) in
        let base = n * perImage
        for channel in 0..<c {
            for i in 0..<g {
                for r in 0..<p {
                    let pixelRow = base + (channel * t + i * p + r) * t
                    for j in 0..<g {
                        let patchRow = base + ((i * g + j) * p * p + r * p) * c + channel
                        for s in 0..<p { body(pixelRow + j * p + s, patchRow + s * c) }
                    }
                }
            }
        }
    }
    forEachTask(imageCount, pool, work)
}

// MARK: - Tensor conveniences

/// [..., C, T, T] → [..., L, P] (new tensor). The leading axes are kept (e.g. [B, K, C, T, T] → [B, K, L, P]).
public func patchify(_ images: Tensor, patchSize: Int, pool: ThreadPool? = nil) -> Tensor {
    precondition(images.rank >= 3 && images.shape[images.rank - 1] == images.shape[images.rank - 2],
                 "patchify: expected [..., C, T, T], got \(images.shape)")
    let geometry = PatchGeometry(channels: images.shape[images.rank - 3], imageSize: images.shape[images.rank - 1],
                                 patchSize: patchSize)
    let lead = Array(images.shape.dropLast(3))
    let patches = Tensor(zeros: lead + [geometry.patchesPerImage, geometry.patchDimension])
    images.withUnsafeBufferPointer { src in
        patches.withUnsafeMutableBufferPointer { dst in
            patchifyForward(images: src, patches: dst, imageCount: lead.reduce(1, *), geometry: geometry, pool: pool)
        }
    }
    return patches
}

/// [..., L, P] → [..., C, T, T] (new tensor), the inverse of `patchify`.
public func unpatchify(_ patches: Tensor, geometry: PatchGeometry, pool: ThreadPool? = nil) -> Tensor {
    precondition(patches.rank >= 2 && patches.shape.suffix(2) == [geometry.patchesPerImage, geometry.patchDimension],
                 "unpatchify: expected [..., \(geometry.patchesPerImage), \(geometry.patchDimension)], "
                     + "got \(patches.shape)")
    let lead = Array(patches.shape.dropLast(2))
    let images = Tensor(zeros: lead + [geometry.channels, geometry.imageSize, geometry.imageSize])
    patches.withUnsafeBufferPointer { src in
        images.withUnsafeMutableBufferPointer { dst in
            unpatchifyForward(patches: src, images: dst, imageCount: lead.reduce(1, *), geometry: geometry, pool: pool)
        }
    }
    return images
}
