import CProtobufC
import WireC

// MARK: - The generic protobuf-c layer (C structs never leave Sources/Wire/Codec)

/// A generated protobuf-c message struct. `initialized()` calls the generated `__init` (the `__INIT`
/// macros do not import), so the descriptor is always read from an initialised instance.
protocol CMessage {
    static func initialized() -> Self
    var base: ProtobufCMessage { get }
}

extension Neighbormae__V1__Envelope: CMessage {
    static func initialized() -> Self { var m = Self(); neighbormae__v1__envelope__init(&m); return m }
}
extension Neighbormae__V1__Join: CMessage {
    static func initialized() -> Self { var m = Self(); neighbormae__v1__join__init(&m); return m }
}
extension Neighbormae__V1__Welcome: CMessage {
    static func initialized() -> Self { var m = Self(); neighbormae__v1__welcome__init(&m); return m }
}
extension Neighbormae__V1__Heartbeat: CMessage {
    static func initialized() -> Self { var m = Self(); neighbormae__v1__heartbeat__init(&m); return m }
}
extension Neighbormae__V1__StepPlan: CMessage {
    static func initialized() -> Self { var m = Self(); neighbormae__v1__step_plan__init(&m); return m }
}
extension Neighbormae__V1__StepDone: CMessage {
    static func initialized() -> Self { var m = Self(); neighbormae__v1__step_done__init(&m); return m }
}
extension Neighbormae__V1__Commit: CMessage {
    static func initialized() -> Self { var m = Self(); neighbormae__v1__commit__init(&m); return m }
}
extension Neighbormae__V1__Abort: CMessage {
    static func initialized() -> Self { var m = Self(); neighbormae__v1__abort__init(&m); return m }
}
extension Neighbormae__V1__StateTransferRequest: CMessage {
    static func initialized() -> Self { var m = Self(); neighbormae__v1__state_transfer_request__init(&m); return m }
}
extension Neighbormae__V1__StateChunk: CMessage {
    static func initialized() -> Self { var m = Self(); neighbormae__v1__state_chunk__init(&m); return m }
}
extension Neighbormae__V1__StateDone: CMessage {
    static func initialized() -> Self { var m = Self(); neighbormae__v1__state_done__init(&m); return m }
}
extension Neighbormae__V1__CheckpointRequest: CMessage {
    static func initialized() -> Self { var m = Self(); neighbormae__v1__checkpoint_request__init(&m); return m }
}
extension Neighbormae__V1__CheckpointChunk: CMessage {
    static func initialized() -> Self { var m = Self(); neighbormae__v1__checkpoint_chunk__init(&m); return m }
}
extension Neighbormae__V1__CheckpointDone: CMessage {
    static func initialized() -> Self { var m = Self(); neighbormae__v1__checkpoint_done__init(&m); return m }
}
extension Neighbormae__V1__RingChunkHeader: CMessage {
    static func initialized() -> Self { var m = Self(); neighbormae__v1__ring_chunk_header__init(&m); return m }
}
extension Neighbormae__V1__Leave: CMessage {
    static func initialized() -> Self { var m = Self(); neighbormae__v1__leave__init(&m); return m }
}
extension Neighbormae__V1__Error: CMessage {
    static func initialized() -> Self { var m = Self(); neighbormae__v1__error__init(&m); return m }
}

// MARK: - Pack and unpack

enum CCodec {
    /// Packs an initialised message whose pointers (strings, bytes, arrays) are valid for this call.
    static func pack<M: CMessage>(_ message: inout M) -> [UInt8] {
        withUnsafeMutablePointer(to: &message) { pointer in
            let base = UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: ProtobufCMessage.self)
            let size = protobuf_c_message_get_packed_size(base)
            guard size > 0 else { return [] }
            return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
                guard let start = buffer.baseAddress else { initialized = 0; return }
                initialized = protobuf_c_message_pack(base, start)
                precondition(initialized == size, "protobuf-c packed \(initialized) bytes, announced \(size)")
            }
        }
    }

    /// Unpacks `bytes` as `M`, hands a copy of the struct to `read` (its pointers are valid only
    /// inside `read`) and frees the unpacked tree afterwards. Parse failures and unknown fields
    /// become `WireError`s for `part` (the body of `type`, if given).
    static func unpack<M: CMessage, R>(
        _: M.Type, _ bytes: UnsafeRawBufferPointer, part: WirePart, type: MessageType?,
        _ read: (M) throws(WireError) -> R
    ) throws(WireError) -> R {
        let descriptor = M.initialized().base.descriptor
        var empty: UInt8 = 0
        let unpacked: UnsafeMutablePointer<ProtobufCMessage>? = withUnsafePointer(to: &empty) { emptyPointer in
            let start = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyPointer
            return protobuf_c_message_unpack(descriptor, nil, bytes.count, start)
        }
        guard let unpacked else { throw ProtobufScan.classifyFailure(bytes, part: part, type: type) }
        defer { protobuf_c_message_free_unpacked(unpacked, nil) }
        guard unpacked.pointee.n_unknown_fields == 0 else {
            if let type { throw .bodyMismatch(type) }
            throw .malformed(part, "unknown fields")
        }
        let message = UnsafeRawPointer(unpacked).load(as: M.self)
        return try read(message)
    }
}

// MARK: - Owned C copies for packing

/// Owns C copies of strings, bytes and arrays that a message points to while it is packed;
/// everything is freed when the arena goes away (after `pack` returns).
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        for allocation in allocations { allocation.deallocate() }
    }

    private func copy(_ bytes: UnsafeRawBufferPointer, extraZero: Bool) -> UnsafeMutableRawPointer {
        let count = bytes.count + (extraZero ? 1 : 0)
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
        allocations.append(memory)
        if let source = bytes.baseAddress, bytes.count > 0 { memory.copyMemory(from: source, byteCount: bytes.count) }
        if extraZero { memory.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self) }
        return memory
    }

    /// A NUL-terminated copy. Strings with NUL cannot go on the wire (C strings); that is a caller bug.
    func string(_ value: String) -> UnsafeMutablePointer<CChar> {
        let utf8 = Array(value.utf8)
        precondition(!utf8.contains(0), "wire strings must not contain NUL")
        return utf8.withUnsafeBytes { copy($0, extraZero: true) }.bindMemory(to: CChar.self, capacity: utf8.count + 1)
    }

    func binary(_ value: [UInt8]) -> ProtobufCBinaryData {
        guard !value.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let memory = value.withUnsafeBytes { copy($0, extraZero: false) }
        return ProtobufCBinaryData(len: value.count, data: memory.bindMemory(to: UInt8.self, capacity: value.count))
    }

    func array(_ values: [UInt32]) -> UnsafeMutablePointer<UInt32>? {
        guard !values.isEmpty else { return nil }
        return values.withUnsafeBytes { copy($0, extraZero: false) }.bindMemory(to: UInt32.self, capacity: values.count)
    }

    func binaries(_ values: [[UInt8]]) -> UnsafeMutablePointer<ProtobufCBinaryData>? {
        guard !values.isEmpty else { return nil }
        let items = values.map { binary($0) }
        return items.withUnsafeBytes { copy($0, extraZero: false) }
            .bindMemory(to: ProtobufCBinaryData.self, capacity: values.count)
    }

    func strings(_ values: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        guard !values.isEmpty else { return nil }
        let pointers: [UnsafeMutablePointer<CChar>?] = values.map { string($0) }
        return pointers.withUnsafeBytes { copy($0, extraZero: false) }
            .bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: values.count)
    }
}

// MARK: - Reading unpacked fields (never trusting counts or pointers)

enum CRead {
    static func string(_ pointer: UnsafePointer<CChar>?, _ field: String, part: WirePart) throws(WireError) -> String {
        guard let pointer else { return "" }
        guard let value = String(validatingCString: pointer) else {
            throw .malformed(part, "\(field) is not valid UTF-8")
        }
        return value
    }

    static func bytes(_ data: ProtobufCBinaryData, _ field: String, part: WirePart) throws(WireError) -> [UInt8] {
        guard data.len > 0 else { return [] }
        guard let start = data.data else { throw .malformed(part, "\(field) has \(data.len) bytes and no data") }
        return Array(UnsafeBufferPointer(start: start, count: data.len))
    }

    static func array(_ count: Int, _ start: UnsafePointer<UInt32>?, _ field: String,
                      part: WirePart) throws(WireError) -> [UInt32] {
        guard count > 0 else { return [] }
        guard let start else { throw .malformed(part, "\(field) has \(count) values and no data") }
        return Array(UnsafeBufferPointer(start: start, count: count))
    }

    static func binaries(_ count: Int, _ start: UnsafePointer<ProtobufCBinaryData>?, _ field: String,
                         part: WirePart) throws(WireError) -> [[UInt8]] {
        guard count > 0 else { return [] }
        guard let start else { throw .malformed(part, "\(field) has \(count) values and no data") }
        var values: [[UInt8]] = []
        values.reserveCapacity(count)
        for index in 0..<count {
            values.append(try bytes(start[index], "\(field)[\(index)]", part: part))
        }
        return values
    }

    static func strings(_ count: Int, _ start: UnsafePointer<UnsafeMutablePointer<CChar>?>?, _ field: String,
                        part: WirePart) throws(WireError) -> [String] {
        guard count > 0 else { return [] }
        guard let start else { throw .malformed(part, "\(field) has \(count) values and no data") }
        var values: [String] = []
        values.reserveCapacity(count)
        for index in 0..<count {
            values.append(try string(start[index], "\(field)[\(index)]", part: part))
        }
        return values
    }
}
