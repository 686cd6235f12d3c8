import NN
import TensorCore
import Training

// MARK: - The byte image of a training state, as streamed to a joiner

/// The state of a run as one byte sequence: step and data cursor (two little-endian UInt64), then every
/// parameter's values, then the first and second moments, in layout order without alignment padding
/// (little-endian float32). Read and written piecewise, so any chunking works and nothing is copied whole.
public struct StateImage: Sendable {
    /// Bytes before the tensors: step, samples consumed.
    static let headerBytes = 16

    public let layout: ParameterLayout
    /// Total bytes of the image.
    public let byteCount: Int

    public init(layout: ParameterLayout) {
        self.layout = layout
        let floats = layout.views.reduce(0) { $0 + $1.count }
        byteCount = Self.headerBytes + 3 * 4 * floats
    }

    /// Copies image bytes `offset ..< offset + target.count` of `state` into `target`.
    public func read(_ state: TrainingState, at offset: Int, into target: UnsafeMutableRawBufferPointer) {
        precondition(offset >= 0 && offset + target.count <= byteCount,
                     "StateImage.read: range outside the image")
        var header = (UInt64(state.step).littleEndian, UInt64(state.samplesConsumed).littleEndian)
        withUnsafeBytes(of: &header) { bytes in
            transfer(offset: offset, count: target.count, header: { range, at in
                target.baseAddress!.advanced(by: at).copyMemory(from: bytes.baseAddress! + range.lowerBound,
                                                                byteCount: range.count)
            }, tensor: { storage, byteRange, at in
                storage.withUnsafeBufferPointer { floats in
                    let base = UnsafeRawPointer(floats.baseAddress!)
                    target.baseAddress!.advanced(by: at).copyMemory(from: base + byteRange.lowerBound,
                                                                    byteCount: byteRange.count)
                }
            }, arena: state.arena)
        }
    }

    /// Writes image bytes `offset ..< offset + source.count` into `arena`; bytes of the 16-byte header
    /// (step, samples consumed) go to `header` instead.
    public func write(_ source: UnsafeRawBufferPointer, at offset: Int, into arena: ParameterArena,
                      header: inout [UInt8]) {
        precondition(offset >= 0 && offset + source.count <= byteCount,
                     "StateImage.write: range outside the image")
        precondition(header.count == Self.headerBytes, "StateImage.write: header buffer must hold 16 bytes")
        transfer(offset: offset, count: source.count, header: { range, at in
            header.withUnsafeMutableBytes { bytes in
                (bytes.baseAddress! + range.lowerBound).copyMemory(from: source.baseAddress! + at,
                                                                   byteCount: range.count)
            }
        }, tensor: { storage, byteRange, at in
            storage.withUnsafeMutableBufferPointer { floats in
                let base = UnsafeMutableRawPointer(floats.baseAddress!)
                (base + byteRange.lowerBound).copyMemory(from: source.baseAddress! + at, byteCount: byteRange.count)
            }
        }, arena: arena)
    }

    /// Walks the pieces of image range `offset ..< offset + count`: header bytes, then byte ranges inside
    /// the arena's storages; `at` is the position within the caller's buffer.
    private func transfer(offset: Int, count: Int, header: (Range<Int>, Int) -> Void,
                          tensor: (FloatStorage, Range<Int>, Int) -> Void, arena: ParameterArena) {
        let end = offset + count
        var position = 0   // image offset of the current piece
        func visit(_ length: Int, _ body: (Range<Int>, Int) -> Void) {
            let lower = max(position, offset), upper = min(position + length, end)
            if lower < upper { body((lower - position)..<(upper - position), lower - offset) }
            position += length
        }
        visit(Self.headerBytes, header)
        for storage in [arena.parameters, arena.firstMoment, arena.secondMoment] {
            for view in layout.views {
                guard position < end else { return }
                visit(4 * view.count) { range, at in
                    tensor(storage, (4 * view.offset + range.lowerBound)..<(4 * view.offset + range.upperBound), at)
                }
            }
        }
    }
}
