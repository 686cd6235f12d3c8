/// A dense, row-major float tensor: a shape over a window of a shared `FloatStorage`.
///
/// Value semantics for the *shape*, reference semantics for the *memory*: `reshaped` and
/// `rows(_:)` are views (no copy) and writes through a view are seen by every tensor sharing the
/// storage, like a PyTorch view. `copy()` makes an independent tensor. Element `[i0, i1, ..., in]`
/// lives at `offset + Σ i_k · stride_k` with row-major strides.
public struct Tensor: @unchecked Sendable {
    public let storage: FloatStorage
    /// Index of element [0, ..., 0] in `storage`.
    public let offset: Int
    public let shape: [Int]

    /// A zero-filled tensor of the given shape.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        self.shape = shape
        self.offset = 0
        self.storage = FloatStorage(count: shape.reduce(1, *))
    }

    /// A tensor whose elements are **not** initialised (see `FloatStorage(uninitializedCount:)`): only for
    /// outputs that are overwritten in full before they are read, never for accumulation targets.
    public init(uninitialized shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        self.shape = shape
        self.offset = 0
        self.storage = FloatStorage(uninitializedCount: shape.reduce(1, *))
    }

    /// A tensor holding a copy of `values`, which must have exactly `shape.product` elements.
    public init(shape: [Int], values: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        precondition(shape.reduce(1, *) == values.count,
                     "Tensor: \(values.count) values do not fill shape \(shape)")
        self.shape = shape
        self.offset = 0
        self.storage = FloatStorage(copying: values)
    }

    /// A view of `count` elements of `storage` starting at `offset`.
    public init(storage: FloatStorage, offset: Int, shape: [Int]) {
        let count = shape.reduce(1, *)
        precondition(offset >= 0 && offset + count <= storage.count,
                     "Tensor: view [\(offset), \(offset + count)) outside storage of \(storage.count)")
        self.storage = storage
        self.offset = offset
        self.shape = shape
    }

    public var rank: Int { shape.count }
    public var count: Int { shape.reduce(1, *) }

    /// Row-major strides, in elements.
    public var strides: [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for axis in shape.indices.reversed() {
            strides[axis] = step
            step *= shape[axis]
        }
        return strides
    }

    // MARK: - Views

    /// The same elements under another shape with the same element count (no copy).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "reshaped: \(shape) -> \(newShape) changes the count")
        return Tensor(storage: storage, offset: offset, shape: newShape)
    }

    /// Rows `range` of the leading axis (no copy).
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "rows: \(range) outside leading axis of \(shape)")
        let rowSize = shape.dropFirst().reduce(1, *)
        return Tensor(storage: storage, offset: offset + range.lowerBound * rowSize,
                      shape: [range.count] + shape.dropFirst())
    }

    /// Row `index` of the leading axis, with that axis removed (no copy).
    public subscript(row index: Int) -> Tensor {
        let slab = rows(index..<(index + 1))
        return slab.reshaped(Array(shape.dropFirst()))
    }

    // MARK: - Element access (tests and set-up code; kernels use the buffer closures)

    public subscript(_ indices: Int...) -> Float {
        get { storage.base[offset + flatIndex(indices)] }
        nonmutating set { storage.base[offset + flatIndex(indices)] = newValue }
    }

    @usableFromInline
    func flatIndex(_ indices: [Int]) -> Int {
        precondition(indices.count == shape.count, "Tensor: \(indices.count) indices for shape \(shape)")
        var flat = 0
        for (axis, index) in indices.enumerated() {
            precondition(index >= 0 && index < shape[axis], "Tensor: index \(indices) outside \(shape)")
            flat = flat * shape[axis] + index
        }
        return flat
    }

    /// The elements in row-major order.
    public var scalars: [Float] {
        withUnsafeBufferPointer { Array($0) }
    }

    /// An independent copy (new storage).
    public func copy() -> Tensor {
        let out = Tensor(uninitialized: shape)
        withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in _ = target.update(fromContentsOf: source) }
        }
        return out
    }

    // MARK: - Memory access

    @inlinable
    public func withUnsafeBufferPointer<R, E: Error>(
        _ body: (UnsafeBufferPointer<Float>) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeBufferPointer(start: storage.base + offset, count: count))
    }

    /// Mutable access to this tensor's elements (shared with every view of the same storage).
    @inlinable
    public func withUnsafeMutableBufferPointer<R, E: Error>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableBufferPointer(start: storage.base + offset, count: count))
    }

    /// Sets every element to `value`.
    public func fill(_ value: Float) {
        withUnsafeMutableBufferPointer { $0.update(repeating: value) }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(\(shape): [\(head)\(count > 8 ? ", ..." : "")])"
    }
}
