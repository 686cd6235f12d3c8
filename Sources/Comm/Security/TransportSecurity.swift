// MARK: - How a transport's connections are protected

/// Security of one `ZMQTransport`, checked against its endpoint by `EndpointPolicy`.
///
/// - `tcp://` needs CURVE (`curveServer` on the binding side, `curveClient` on the connecting side), or
///   `insecureLoopback` when the host is a loopback address.
/// - `ipc://` may use plaintext (`.none`, also spelled `.ipc`): the socket file sits in a 0700 directory,
///   so only this user can connect. CURVE works there too.
/// - `inproc://` is always allowed.
public enum TransportSecurity: Sendable, Equatable {
    /// Plaintext, no authentication: only for `ipc://` (0700 directory) and `inproc://` endpoints.
    case none
    /// Plaintext on a loopback tcp address (127.0.0.0/8, ::1, localhost), by explicit choice.
    case insecureLoopback
    /// CURVE server: its key pair and the client keys it admits (checked by the context's ZAP handler).
    case curveServer(keys: CurveKeyPair, allowList: CurveAllowList)
    /// CURVE client: its own key pair and the server's public key.
    case curveClient(keys: CurveKeyPair, serverPublicKey: CurvePublicKey)

    /// Plaintext over `ipc://` in a 0700 directory (the same as `.none`).
    public static var ipc: TransportSecurity { .none }

    /// Whether connections are encrypted and authenticated.
    public var isCurve: Bool {
        switch self {
        case .curveServer, .curveClient: true
        case .none, .insecureLoopback: false
        }
    }
}
