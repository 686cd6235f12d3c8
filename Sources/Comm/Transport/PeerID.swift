// MARK: - Who sent a message

/// A peer as the transport sees it: the routing identity of a connection on a ROUTER socket (opaque
/// bytes chosen by libzmq or set by the peer), or a name in the in-process double.
public struct PeerID: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public init(_ name: String) {
        self.bytes = Array(name.utf8)
    }

    /// Printable identities as text, others as hex.
    public var description: String {
        if !bytes.isEmpty, bytes.allSatisfy({ $0 >= 0x21 && $0 < 0x7F }) {
            return String(decoding: bytes, as: UTF8.self)
        }
        return "0x" + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
