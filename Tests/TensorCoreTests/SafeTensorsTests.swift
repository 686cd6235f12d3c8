import Foundation
import Testing
import TensorCore

@Suite struct SafeTensorsTests {
    @Test func roundTripsNamesShapesValuesAndMetadata() throws {
        let items = [
            SafeTensors.Item(name: "blocks.0.attn.qkv.weight", shape: [3, 2], values: [1, -2, 3.5, .pi, -0, 1e-30]),
            SafeTensors.Item(name: "scalar \"quoted\"", shape: [], values: [42]),
            SafeTensors.Item(name: "empty", shape: [0, 4], values: []),
        ]
        let bytes = SafeTensors.encode(items, metadata: ["config": "{\"a\": 1}\n"])
        let file = try SafeTensors(bytes: bytes)
        #expect(file.names == items.map(\.name))            // file order = data order
        #expect(file.metadata["config"] == "{\"a\": 1}\n")
        for item in items {
            #expect(file.entries[item.name]?.shape == item.shape)
            #expect(try file.floats(item.name).map(\.bitPattern) == item.values.map(\.bitPattern))
        }
        let header = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((8 + header) % 8 == 0)
        #expect(try file.tensor("blocks.0.attn.qkv.weight").shape == [3, 2])
    }

    @Test func readsIntegerAndDoubleTensorsFromAHandWrittenFile() throws {
        // Header written by hand as another writer would (unpadded, keys in any order).
        let header = #"{"b":{"dtype":"F64","shape":[2],"data_offsets":[16,32]},"a":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}"#
        var bytes = Data()
        var length = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(header.utf8))
        for value in [Int64(-3), 7] { var v = value.littleEndian; withUnsafeBytes(of: &v) { bytes.append(contentsOf: $0) } }
        for value in [0.5, -2.25] { var v = value.bitPattern.littleEndian; withUnsafeBytes(of: &v) { bytes.append(contentsOf: $0) } }
        let file = try SafeTensors(bytes: bytes)
        #expect(try file.integers("a") == [-3, 7])
        #expect(try file.floats("b") == [0.5, -2.25])
        #expect(throws: SafeTensorsError.self) { try file.integers("b") }
        #expect(throws: SafeTensorsError.missingTensor("c")) { try file.floats("c") }
    }

    /// Malformed files give a typed error, never a crash.
    @Test(arguments: [
        "short", "huge-header", "header-past-end", "not-json", "bad-dtype", "size-mismatch", "offset-outside",
        "overlap", "negative-dim",
    ])
    func rejectsMalformedFiles(_ kind: String) {
        func file(_ header: String, data: Int = 16) -> Data {
            var bytes = Data()
            var length = UInt64(header.utf8.count).littleEndian
            withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: Array(header.utf8))
            bytes.append(Data(count: data))
            return bytes
        }
        let bytes: Data = switch kind {
        case "short": Data([1, 2, 3])
        case "huge-header": Data([0, 0, 0, 0, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 8))
        case "header-past-end": Data([200, 0, 0, 0, 0, 0, 0, 0, 123])
        case "not-json": file("{not json")
        case "bad-dtype": file(#"{"a":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}}"#)
        case "size-mismatch": file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#)
        case "offset-outside": file(#"{"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}}"#)
        case "overlap": file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#)
        default: file(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#)
        }
        #expect(throws: SafeTensorsError.self) { try SafeTensors(bytes: bytes) }
    }
}
