/// An axis-aligned box in a y-up frame: (left, top, right, bottom) with right ≥ left and top ≥ bottom
/// (METHOD.md §1.3). Used in map units (from a geotransform) and in the [0, 32]² pair frame.
public struct Box: Codable, Equatable, Hashable, Sendable {
    public var left: Double
    public var top: Double
    public var right: Double
    public var bottom: Double

    public init(left: Double, top: Double, right: Double, bottom: Double) {
        self.left = left
        self.top = top
        self.right = right
        self.bottom = bottom
    }

    public var width: Double { right - left }
    public var height: Double { top - bottom }
    public var area: Double { width * height }

    /// The full pair frame [0, 32]²: the box of a single image (K = 1, METHOD.md §3 single-image use).
    public static let fullFrame = Box(left: 0, top: pairFrameExtent, right: pairFrameExtent, bottom: 0)

    /// True when the two boxes share an area > 0.
    public func overlaps(_ other: Box) -> Bool {
        min(right, other.right) > max(left, other.left) && min(top, other.top) > max(bottom, other.bottom)
    }
}

/// Side of the pair frame (METHOD.md §1.4).
public let pairFrameExtent: Double = 32

/// The joint (relative) normalisation of METHOD.md §1.4: shift so min(left) = 0 and min(bottom) = 0,
/// then scale x by 32 / max(right) and y by 32 / max(top), independently per axis. The union of the
/// result spans exactly [0, 32]². Degenerate (zero-extent) axes are left unscaled.
public func pairFrame(_ boxes: [Box]) -> [Box] {
    precondition(!boxes.isEmpty, "pairFrame: no boxes")
    let minLeft = boxes.map(\.left).min()!
    let minBottom = boxes.map(\.bottom).min()!
    let maxRight = boxes.map { $0.right - minLeft }.max()!
    let maxTop = boxes.map { $0.top - minBottom }.max()!
    let scaleX = maxRight > 0 ? pairFrameExtent / maxRight : 1
    let scaleY = maxTop > 0 ? pairFrameExtent / maxTop : 1
    return boxes.map { box in
        Box(left: (box.left - minLeft) * scaleX, top: (box.top - minBottom) * scaleY,
            right: (box.right - minLeft) * scaleX, bottom: (box.bottom - minBottom) * scaleY)
    }
}

/// Intersection over union of two y-up boxes (METHOD.md §1.5); 0 when the union is empty.
public func iou(_ a: Box, _ b: Box) -> Double {
    let interWidth = max(0, min(a.right, b.right) - max(a.left, b.left))
    let interHeight = max(0, min(a.top, b.top) - max(a.bottom, b.bottom))
    let intersection = interWidth * interHeight
    let union = a.area + b.area - intersection
    return union > 0 ? intersection / union : 0
}

/// Mean IoU of box k with the other K − 1 boxes (METHOD.md §1.5); for K = 2 the pair IoU.
public func meanIoU(_ boxes: [Box], index k: Int) -> Double {
    precondition(boxes.count >= 2, "meanIoU: needs K >= 2 boxes")
    var sum = 0.0
    for j in boxes.indices where j != k { sum += iou(boxes[k], boxes[j]) }
    return sum / Double(boxes.count - 1)
}
