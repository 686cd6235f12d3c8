import CZeroMQ

// MARK: - CURVE keys (Curve25519, as libzmq uses them)

/// A CURVE public key: 32 bytes, written as 40 Z85 characters.
public struct CurvePublicKey: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// Parses 40 Z85 characters; `what` names the source in the error (e.g. a file and line).
    public init(z85: String, what: String = "public key") throws(TransportError) {
        bytes = try decodeZ85Key(z85, what: what)
    }

    init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "CurvePublicKey: 32 bytes expected")
        self.bytes = bytes
    }

    /// The key as a message carries it (32 raw bytes); nil for any other length.
    public init?(raw: [UInt8]) {
        guard raw.count == 32 else { return nil }
        bytes = raw
    }

    public var z85: String { encodeZ85Key(bytes) }
    public var description: String { z85 }
}

/// A CURVE secret key. Its `description` never prints the key.
public struct CurveSecretKey: Sendable, Equatable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(z85: String, what: String = "secret key") throws(TransportError) {
        bytes = try decodeZ85Key(z85, what: what)
    }

    init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "CurveSecretKey: 32 bytes expected")
        self.bytes = bytes
    }

    public var z85: String { encodeZ85Key(bytes) }
    public var description: String { "<CURVE secret key>" }
}

/// A CURVE key pair (one per process identity; the secret half stays in a 0600 file).
public struct CurveKeyPair: Sendable, Equatable {
    public let publicKey: CurvePublicKey
    public let secretKey: CurveSecretKey

    /// Pairs the halves, checking that `publicKey` belongs to `secretKey`.
    public init(publicKey: CurvePublicKey, secretKey: CurveSecretKey) throws(TransportError) {
        var derived = [CChar](repeating: 0, count: 41)
        let secretZ85 = secretKey.z85
        guard zmq_curve_public(&derived, secretZ85) == 0,
              String(decoding: derived.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self) == publicKey.z85
        else {
            throw .security("the public key does not belong to the secret key",
                            hint: "regenerate the pair with `neighbormae keygen`")
        }
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A fresh random key pair (libsodium through `zmq_curve_keypair`).
    public static func generate() throws(TransportError) -> CurveKeyPair {
        var publicZ85 = [CChar](repeating: 0, count: 41)
        var secretZ85 = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicZ85, &secretZ85) == 0 else {
            throw .security("zmq_curve_keypair failed: \(zmqErrorText(zmq_errno()))",
                            hint: "libzmq must be built with CURVE (libsodium); check zmqHas(\"curve\")")
        }
        let text = { (chars: [CChar]) in
            String(decoding: chars.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return try CurveKeyPair(publicKey: CurvePublicKey(z85: text(publicZ85)),
                                secretKey: CurveSecretKey(z85: text(secretZ85)))
    }
}

// MARK: - Z85

private let z85Alphabet = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")

/// 40 Z85 characters -> 32 bytes, or a `.security` error naming `what`.
func decodeZ85Key(_ text: String, what: String) throws(TransportError) -> [UInt8] {
    let hint = "a CURVE key is 40 Z85 characters, as written by `neighbormae keygen`"
    guard text.count == 40 else {
        throw .security("\(what) has \(text.count) characters, expected 40", hint: hint)
    }
    if let bad = text.first(where: { !z85Alphabet.contains($0) }) {
        throw .security("\(what) contains \"\(bad)\", which is not a Z85 character", hint: hint)
    }
    var bytes = [UInt8](repeating: 0, count: 32)
    guard zmq_z85_decode(&bytes, text) != nil else {
        throw .security("\(what) is not valid Z85", hint: hint)
    }
    return bytes
}

/// 32 bytes -> 40 Z85 characters.
func encodeZ85Key(_ bytes: [UInt8]) -> String {
    var chars = [CChar](repeating: 0, count: 41)
    guard zmq_z85_encode(&chars, bytes, bytes.count) != nil else {
        preconditionFailure("zmq_z85_encode failed on \(bytes.count) bytes")
    }
    return String(decoding: chars.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
