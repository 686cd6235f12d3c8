import Foundation

// MARK: - Which endpoints a transport may use with which security

/// Refuses endpoints that would expose an unauthenticated socket (issue 5, "Security").
public enum EndpointPolicy {
    /// Checks `endpoint` against `security`; for `ipc://`, creates the socket's directory with mode 0700
    /// if it is missing and refuses one that group or others can enter.
    public static func check(_ endpoint: String, security: TransportSecurity) throws(TransportError) {
        if endpoint.hasPrefix("inproc://") { return }
        if endpoint.hasPrefix("tcp://") {
            try checkTCP(endpoint, security: security)
        } else if endpoint.hasPrefix("ipc://") {
            try checkIPC(String(endpoint.dropFirst("ipc://".count)), endpoint: endpoint)
        } else {
            throw .endpoint("unsupported endpoint \"\(endpoint)\"",
                            hint: "use tcp://HOST:PORT (with CURVE), ipc:///PATH or inproc://NAME")
        }
    }

    /// Whether `host` (from `tcp://host:port`) is a loopback address.
    public static func isLoopback(host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare == "::1" { return true }
        let parts = bare.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// The host of a tcp endpoint (`tcp://[source;]host:port`).
    static func tcpHost(_ endpoint: String) -> String {
        var address = Substring(endpoint.dropFirst("tcp://".count))
        if let semicolon = address.lastIndex(of: ";") { address = address[address.index(after: semicolon)...] }
        guard let colon = address.lastIndex(of: ":") else { return String(address) }
        return String(address[..<colon])
    }

    private static func checkTCP(_ endpoint: String, security: TransportSecurity) throws(TransportError) {
        switch security {
        case .curveServer, .curveClient:
            return
        case .insecureLoopback:
            let host = tcpHost(endpoint)
            guard isLoopback(host: host) else {
                throw .endpoint("plaintext tcp on non-loopback host \"\(host)\" (\(endpoint)) is refused",
                                hint: "use CURVE keys from `neighbormae keygen`; insecure mode is for 127.0.0.1 only")
            }
        case .none:
            throw .endpoint("tcp endpoint \(endpoint) without CURVE is refused",
                            hint: "configure CURVE keys (`neighbormae keygen`), or, on loopback only, "
                                + "choose insecure loopback explicitly")
        }
    }

    private static func checkIPC(_ path: String, endpoint: String) throws(TransportError) {
        guard !path.isEmpty, !path.hasPrefix("@") else {
            throw .endpoint("ipc endpoint \(endpoint) has no filesystem path (abstract sockets have no permissions)",
                            hint: "use ipc:///DIR/NAME with DIR private to this user (mode 0700)")
        }
        let directory = (path as NSString).deletingLastPathComponent
        let dir = directory.isEmpty ? "." : directory
        var info = stat()
        if stat(dir, &info) != 0 {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw .endpoint("cannot create the ipc directory \(dir): \(error)",
                                hint: "create it with `mkdir -m 700 \(dir)`")
            }
            guard stat(dir, &info) == 0 else {
                throw .endpoint("cannot stat the ipc directory \(dir)", hint: "create it with `mkdir -m 700 \(dir)`")
            }
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw .endpoint("\(dir) (directory of \(endpoint)) is not a directory", hint: "choose another ipc path")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0, info.st_uid == getuid() else {
            throw .endpoint("ipc directory \(dir) has mode \(String(mode, radix: 8)) or another owner, so other users "
                                + "could connect to \(endpoint)",
                            hint: "`chmod 700 \(dir)` (owned by this user), or use a fresh directory")
        }
    }
}
