import Foundation

/// The safetensors file format (huggingface/safetensors): the interchange format of our checkpoints,
/// exports and test fixtures, readable from Python with `safetensors` / PyTorch.
///
///     [u64 little-endian N][N bytes of JSON header][data]
///     header: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
///              "__metadata__": {"key": "value", ...}}        (offsets relative to the data start)
///
/// Reading validates everything before use (sizes, offsets, overlaps, dtype, shape product) and
/// reports a `SafeTensorsError`; nothing from a file can crash the process.
public struct SafeTensors: Sendable {
    /// Element types we read and write.
    public enum DType: String, Sendable, CaseIterable {
        case f32 = "F32", f64 = "F64", i32 = "I32", i64 = "I64", u8 = "U8", bool = "BOOL"

        public var byteSize: Int {
            switch self {
            case .f64, .i64: 8
            case .f32, .i32: 4
            case .u8, .bool: 1
            }
        }
    }

    /// One tensor's entry: where its bytes are in `data`.
    public struct Entry: Sendable, Equatable {
        public let dtype: DType
        public let shape: [Int]
        public let byteRange: Range<Int>
        public var count: Int { shape.reduce(1, *) }
    }

    /// Largest header accepted (the format's own reference limit is 100 MB).
    public static let maximumHeaderBytes = 100 << 20

    public let entries: [String: Entry]
    public let metadata: [String: String]
    /// The data section (everything after the header).
    public let data: Data

    /// Tensor names in file order (by data offset).
    public var names: [String] {
        entries.sorted { $0.value.byteRange.lowerBound < $1.value.byteRange.lowerBound }.map(\.key)
    }

    // MARK: - Reading

    /// Parses and validates a whole file's bytes.
    public init(bytes: Data) throws(SafeTensorsError) {
        guard bytes.count >= 8 else { throw .truncated("file has \(bytes.count) bytes, the header length needs 8") }
        let start = bytes.startIndex
        let headerLength = bytes[start..<(start + 8)].enumerated()
            .reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(Self.maximumHeaderBytes) else {
            throw .invalidHeader("header length \(headerLength) exceeds \(Self.maximumHeaderBytes) bytes")
        }
        guard 8 + Int(headerLength) <= bytes.count else {
            throw .truncated("header of \(headerLength) bytes, but the file has only \(bytes.count - 8) after the length")
        }
        let headerBytes = bytes[(start + 8)..<(start + 8 + Int(headerLength))]
        data = Data(bytes[(start + 8 + Int(headerLength))...])
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerBytes)
        } catch {
            throw .invalidHeader("header is not JSON (\(error.localizedDescription))")
        }
        guard let object = json as? [String: Any] else { throw .invalidHeader("header is not a JSON object") }
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                guard let pairs = value as? [String: Any] else { throw .invalidHeader("__metadata__ is not an object") }
                for (key, text) in pairs {
                    guard let text = text as? String else { throw .invalidHeader("metadata \(key) is not a string") }
                    metadata[key] = text
                }
                continue
            }
            entries[name] = try Self.parseEntry(name: name, value, dataCount: data.count)
        }
        try Self.checkNoOverlap(entries)
        self.entries = entries
        self.metadata = metadata
    }

    /// Reads and validates a file.
    public init(contentsOf url: URL) throws(SafeTensorsError) {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: url)
        } catch {
            throw .unreadable("\(url.path): \(error.localizedDescription)")
        }
        do {
            try self.init(bytes: bytes)
        } catch {
            throw error.inFile(url.path)
        }
    }

    private static func parseEntry(name: String, _ value: Any, dataCount: Int) throws(SafeTensorsError) -> Entry {
        guard let fields = value as? [String: Any],
              let dtypeName = fields["dtype"] as? String,
              let shapeValues = fields["shape"] as? [Any],
              let offsetValues = fields["data_offsets"] as? [Any], offsetValues.count == 2
        else { throw .invalidHeader("tensor \(name): needs dtype, shape and two data_offsets") }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw .unsupportedDType("tensor \(name) has dtype \(dtypeName); supported: "
                                    + DType.allCases.map(\.rawValue).joined(separator: ", "))
        }
        var shape: [Int] = []
        for dimension in shapeValues {
            guard let number = dimension as? NSNumber, number.int64Value >= 0, number.int64Value < 1 << 40,
                  number.doubleValue == Double(number.int64Value)
            else { throw .invalidHeader("tensor \(name): bad dimension \(dimension)") }
            shape.append(Int(number.int64Value))
        }
        var offsets: [Int] = []
        for offset in offsetValues {
            guard let number = offset as? NSNumber, number.int64Value >= 0, number.int64Value <= Int64(dataCount),
                  number.doubleValue == Double(number.int64Value)
            else { throw .invalidHeader("tensor \(name): data offset \(offset) outside the \(dataCount)-byte data") }
            offsets.append(Int(number.int64Value))
        }
        guard offsets[0] <= offsets[1] else { throw .invalidHeader("tensor \(name): offsets \(offsets) decrease") }
        let (elements, overflow) = shape.reduce((1, false)) { partial, dimension in
            let product = partial.0.multipliedReportingOverflow(by: dimension)
            return (product.partialValue, partial.1 || product.overflow)
        }
        guard !overflow, elements.multipliedReportingOverflow(by: dtype.byteSize).partialValue == offsets[1] - offsets[0]
        else {
            throw .invalidHeader("tensor \(name): shape \(shape) of \(dtypeName) needs \(elements) elements, "
                                 + "the offsets hold \(offsets[1] - offsets[0]) bytes")
        }
        return Entry(dtype: dtype, shape: shape, byteRange: offsets[0]..<offsets[1])
    }

    private static func checkNoOverlap(_ entries: [String: Entry]) throws(SafeTensorsError) {
        let sorted = entries.sorted { $0.value.byteRange.lowerBound < $1.value.byteRange.lowerBound }
        for (previous, next) in zip(sorted, sorted.dropFirst())
        where previous.value.byteRange.upperBound > next.value.byteRange.lowerBound {
            throw .invalidHeader("tensors \(previous.key) and \(next.key) overlap")
        }
    }

    // MARK: - Access

    /// The elements of a tensor as Float (F32 as stored; F64, I32, I64, U8, BOOL converted).
    public func floats(_ name: String) throws(SafeTensorsError) -> [Float] {
        guard let entry = entries[name] else { throw .missingTensor(name) }
        return data.withUnsafeBytes { raw in
            let bytes = UnsafeRawBufferPointer(rebasing: raw[entry.byteRange])
            return (0..<entry.count).map { i in
                switch entry.dtype {
                case .f32: Float(bitPattern: bytes.loadLittleEndian(UInt32.self, at: i))
                case .f64: Float(Double(bitPattern: bytes.loadLittleEndian(UInt64.self, at: i)))
                case .i32: Float(Int32(bitPattern: bytes.loadLittleEndian(UInt32.self, at: i)))
                case .i64: Float(Int64(bitPattern: bytes.loadLittleEndian(UInt64.self, at: i)))
                case .u8, .bool: Float(bytes[i])
                }
            }
        }
    }

    /// The elements of an integer (or bool) tensor as Int; floats are rejected.
    public func integers(_ name: String) throws(SafeTensorsError) -> [Int] {
        guard let entry = entries[name] else { throw .missingTensor(name) }
        guard ![.f32, .f64].contains(entry.dtype) else {
            throw .unsupportedDType("tensor \(name) is \(entry.dtype.rawValue), an integer tensor was expected")
        }
        return data.withUnsafeBytes { raw in
            let bytes = UnsafeRawBufferPointer(rebasing: raw[entry.byteRange])
            return (0..<entry.count).map { i in
                switch entry.dtype {
                case .i32: Int(Int32(bitPattern: bytes.loadLittleEndian(UInt32.self, at: i)))
                case .i64: Int(Int64(bitPattern: bytes.loadLittleEndian(UInt64.self, at: i)))
                default: Int(bytes[i])
                }
            }
        }
    }

    /// A tensor as a `Tensor` of its stored shape.
    public func tensor(_ name: String) throws(SafeTensorsError) -> Tensor {
        let values = try floats(name)
        return Tensor(shape: entries[name]!.shape, values: values)
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    fileprivate func loadLittleEndian<T: FixedWidthInteger>(_: T.Type, at index: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self))
    }
}
