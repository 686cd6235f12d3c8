/// Owned, 64-byte aligned float memory, zero-initialised unless made with `init(uninitializedCount:)`.
///
/// The single owner of one allocation: freed in `deinit`. `Tensor` values share a storage by
/// reference and never hand the raw pointer out except through `withUnsafe...` closures.
/// 64-byte alignment makes every row that starts at a multiple of 16 floats a full cache line,
/// which the packed GEMM and `SIMD16<Float>` loads rely on for speed (not for correctness).
public final class FloatStorage: @unchecked Sendable {
    /// Byte alignment of every allocation (one cache line, one AVX-512 register).
    public static let alignment = 64

    public let count: Int
    @usableFromInline let base: UnsafeMutablePointer<Float>

    /// Allocates `count` floats set to zero.
    public init(count: Int) {
        precondition(count >= 0, "FloatStorage: negative count \(count)")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: Self.alignment)
        base = raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 1))
    }

    /// Allocates `count` floats **without** setting them: for outputs that a kernel overwrites in full
    /// before anything reads them (a GEMM with `accumulate: false`, an elementwise `into:` output). Skipping
    /// the zero fill saves one pass over the memory. Never use it for a buffer that is accumulated into.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "FloatStorage: negative count \(count)")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: Self.alignment)
        base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// Allocates a copy of `values`.
    public convenience init<C: Collection>(copying values: C) where C.Element == Float {
        self.init(uninitializedCount: values.count)
        _ = UnsafeMutableBufferPointer(start: base, count: count).initialize(from: values)
    }

    deinit {
        base.deinitialize(count: max(count, 1))
        UnsafeMutableRawPointer(base).deallocate()
    }

    @inlinable
    public func withUnsafeBufferPointer<R, E: Error>(
        _ body: (UnsafeBufferPointer<Float>) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    @inlinable
    public func withUnsafeMutableBufferPointer<R, E: Error>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableBufferPointer(start: base, count: count))
    }
}
