import CZeroMQ

// MARK: - Socket options with their C value types

/// A value libzmq reads or writes through `zmq_setsockopt` / `zmq_getsockopt`.
///
/// The C type is part of each option (notes pitfall 6): integer options take exactly an `int`, which a
/// Swift `Int` is not (EINVAL); `ZMQ_MAXMSGSIZE` takes an `int64_t`; keys and identities are bytes.
public protocol ZMQOptionValue: Sendable {
    static func set(_ value: Self, option: Int32, on socket: UnsafeMutableRawPointer) throws(ZMQError)
    static func get(option: Int32, from socket: UnsafeMutableRawPointer) throws(ZMQError) -> Self
}

extension Int32: ZMQOptionValue {
    public static func set(_ value: Int32, option: Int32, on socket: UnsafeMutableRawPointer) throws(ZMQError) {
        var value = value
        try zmqCall("zmq_setsockopt(\(option))") { zmq_setsockopt(socket, option, &value, MemoryLayout<Int32>.size) }
    }

    public static func get(option: Int32, from socket: UnsafeMutableRawPointer) throws(ZMQError) -> Int32 {
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        try zmqCall("zmq_getsockopt(\(option))") { zmq_getsockopt(socket, option, &value, &size) }
        return value
    }
}

extension Int64: ZMQOptionValue {
    public static func set(_ value: Int64, option: Int32, on socket: UnsafeMutableRawPointer) throws(ZMQError) {
        var value = value
        try zmqCall("zmq_setsockopt(\(option))") { zmq_setsockopt(socket, option, &value, MemoryLayout<Int64>.size) }
    }

    public static func get(option: Int32, from socket: UnsafeMutableRawPointer) throws(ZMQError) -> Int64 {
        var value: Int64 = 0
        var size = MemoryLayout<Int64>.size
        try zmqCall("zmq_getsockopt(\(option))") { zmq_getsockopt(socket, option, &value, &size) }
        return value
    }
}

extension [UInt8]: ZMQOptionValue {
    public static func set(_ value: [UInt8], option: Int32, on socket: UnsafeMutableRawPointer) throws(ZMQError) {
        try zmqCall("zmq_setsockopt(\(option))") {
            value.withUnsafeBytes { zmq_setsockopt(socket, option, $0.baseAddress, $0.count) }
        }
    }

    /// Reads up to 1 KiB (identities, keys and endpoints are far smaller).
    public static func get(option: Int32, from socket: UnsafeMutableRawPointer) throws(ZMQError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 1024)
        var size = buffer.count
        try zmqCall("zmq_getsockopt(\(option))") {
            buffer.withUnsafeMutableBytes { zmq_getsockopt(socket, option, $0.baseAddress, &size) }
        }
        return Array(buffer.prefix(size))
    }
}

extension String: ZMQOptionValue {
    /// Sets the UTF-8 bytes without a terminating NUL.
    public static func set(_ value: String, option: Int32, on socket: UnsafeMutableRawPointer) throws(ZMQError) {
        try [UInt8].set(Array(value.utf8), option: option, on: socket)
    }

    /// Reads a NUL-terminated string option.
    public static func get(option: Int32, from socket: UnsafeMutableRawPointer) throws(ZMQError) -> String {
        let bytes = try [UInt8].get(option: option, from: socket)
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}

/// A socket option and its value type: `socket.set(.linger, 500)`, `try socket.get(.lastEndpoint)`.
public struct ZMQSocketOption<Value: ZMQOptionValue>: Sendable {
    /// The `ZMQ_*` constant.
    public let code: Int32

    public init(_ code: Int32) { self.code = code }
}

extension ZMQSocketOption where Value == Int32 {
    public static var linger: Self { .init(ZMQ_LINGER) }
    public static var sendHighWaterMark: Self { .init(ZMQ_SNDHWM) }
    public static var receiveHighWaterMark: Self { .init(ZMQ_RCVHWM) }
    public static var sendTimeout: Self { .init(ZMQ_SNDTIMEO) }
    public static var receiveTimeout: Self { .init(ZMQ_RCVTIMEO) }
    public static var routerMandatory: Self { .init(ZMQ_ROUTER_MANDATORY) }
    public static var heartbeatInterval: Self { .init(ZMQ_HEARTBEAT_IVL) }
    public static var heartbeatTimeout: Self { .init(ZMQ_HEARTBEAT_TIMEOUT) }
    public static var heartbeatTTL: Self { .init(ZMQ_HEARTBEAT_TTL) }
    public static var handshakeInterval: Self { .init(ZMQ_HANDSHAKE_IVL) }
    public static var curveServer: Self { .init(ZMQ_CURVE_SERVER) }
    public static var immediate: Self { .init(ZMQ_IMMEDIATE) }
    public static var receiveMore: Self { .init(ZMQ_RCVMORE) }
    public static var mechanism: Self { .init(ZMQ_MECHANISM) }
}

extension ZMQSocketOption where Value == Int64 {
    /// Largest accepted frame; a peer that sends a bigger one is disconnected by libzmq.
    public static var maxMessageSize: Self { .init(ZMQ_MAXMSGSIZE) }
}

extension ZMQSocketOption where Value == [UInt8] {
    public static var routingID: Self { .init(ZMQ_ROUTING_ID) }
    /// 32-byte CURVE keys (binary form).
    public static var curvePublicKey: Self { .init(ZMQ_CURVE_PUBLICKEY) }
    public static var curveSecretKey: Self { .init(ZMQ_CURVE_SECRETKEY) }
    public static var curveServerKey: Self { .init(ZMQ_CURVE_SERVERKEY) }
}

extension ZMQSocketOption where Value == String {
    public static var zapDomain: Self { .init(ZMQ_ZAP_DOMAIN) }
    /// The endpoint actually bound (resolves `tcp://host:0` to the chosen port).
    public static var lastEndpoint: Self { .init(ZMQ_LAST_ENDPOINT) }
}
