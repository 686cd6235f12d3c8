import Foundation

extension SafeTensors {
    /// One tensor to write: float32 values of the given shape.
    public struct Item: Sendable {
        public let name: String
        public let shape: [Int]
        public let values: [Float]

        public init(name: String, shape: [Int], values: [Float]) {
            precondition(shape.reduce(1, *) == values.count,
                         "SafeTensors.Item \(name): \(values.count) values for shape \(shape)")
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// Encodes F32 tensors in the given order (the header lists them with increasing offsets; JSON key
    /// order is not significant to readers). The header is padded with spaces to a multiple of 8 bytes
    /// so the data section stays aligned, as the reference implementation does.
    public static func encode(_ items: [Item], metadata: [String: String] = [:]) -> Data {
        var header = "{"
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            header += "\"__metadata__\":{" + pairs.joined(separator: ",") + "},"
        }
        var offset = 0
        var parts: [String] = []
        for item in items {
            let bytes = item.values.count * 4
            parts.append("\(jsonString(item.name)):{\"dtype\":\"F32\",\"shape\":[\(item.shape.map(String.init).joined(separator: ","))],"
                         + "\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        header += parts.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }

        var out = Data(capacity: 8 + headerBytes.count + offset)
        var length = UInt64(headerBytes.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for item in items {
            #if _endian(little)
            // Float32 in memory is already the file's little-endian layout: one bulk copy per tensor
            // (a per-float append costs seconds for a ViT-L sized state).
            item.values.withUnsafeBytes { out.append(contentsOf: $0) }
            #else
            for value in item.values {
                var bits = value.bitPattern.littleEndian
                withUnsafeBytes(of: &bits) { out.append(contentsOf: $0) }
            }
            #endif
        }
        return out
    }

    /// A JSON string literal (quotes, backslashes and control characters escaped).
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// A safetensors file that cannot be used, with what is wrong.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case unreadable(String)
    case truncated(String)
    case invalidHeader(String)
    case unsupportedDType(String)
    case missingTensor(String)
    indirect case inFile(String, SafeTensorsError)

    func inFile(_ path: String) -> SafeTensorsError { .inFile(path, self) }

    public var description: String {
        switch self {
        case .unreadable(let detail): "cannot read safetensors file \(detail)"
        case .truncated(let detail): "truncated safetensors file: \(detail)"
        case .invalidHeader(let detail): "invalid safetensors header: \(detail)"
        case .unsupportedDType(let detail): "unsupported safetensors dtype: \(detail)"
        case .missingTensor(let name): "safetensors file has no tensor named \(name)"
        case .inFile(let path, let error): "\(path): \(error)"
        }
    }
}
