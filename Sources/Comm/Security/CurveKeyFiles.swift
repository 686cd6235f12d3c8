import Foundation

// MARK: - Key files: NAME.key (secret, 0600), NAME.pub, allow-lists

/// Reading and writing the files `neighbormae keygen` produces.
///
/// - `NAME.key`: `public-key <Z85>` and `secret-key <Z85>` lines, mode 0600. Loading refuses a file that
///   group or others can read.
/// - `NAME.pub`: the public key's Z85 on one line (also a valid one-entry allow-list).
/// - allow-list: one `<Z85> [name]` per line (`CurveAllowList`).
/// Lines starting with `#` are comments everywhere.
public enum CurveKeyFiles {
    /// Writes `NAME.key` (0600) and `NAME.pub` into `directory` (created 0700 if missing); refuses to
    /// overwrite existing files. Returns both paths.
    @discardableResult
    public static func write(_ keys: CurveKeyPair, directory: String, name: String) throws(TransportError)
        -> (secretFile: String, publicFile: String) {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else {
            throw .security("key name \"\(name)\" is not a plain file name", hint: "use a name such as worker-1")
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw .security("cannot create \(directory): \(error)", hint: "check the path and its permissions")
        }
        let secretFile = (directory as NSString).appendingPathComponent(name + ".key")
        let publicFile = (directory as NSString).appendingPathComponent(name + ".pub")
        for path in [secretFile, publicFile] where FileManager.default.fileExists(atPath: path) {
            throw .security("\(path) already exists", hint: "remove it first or choose another --name")
        }
        let secretText = "# neighbormae CURVE key pair \(name): keep this file private (mode 0600)\n"
            + "public-key \(keys.publicKey.z85)\nsecret-key \(keys.secretKey.z85)\n"
        try createFile(secretFile, contents: secretText, mode: 0o600)
        try createFile(publicFile, contents: "# neighbormae CURVE public key \(name)\n\(keys.publicKey.z85) \(name)\n",
                       mode: 0o644)
        return (secretFile, publicFile)
    }

    /// Loads a key pair from a `NAME.key` file, refusing one readable by group or others.
    public static func loadKeyPair(_ path: String) throws(TransportError) -> CurveKeyPair {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw .security("cannot read the key file \(path): \(String(cString: strerror(errno)))",
                            hint: "create one with `neighbormae keygen --out DIR --name NAME`")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw .security("secret key file \(path) is readable by group or others (mode \(String(mode, radix: 8)))",
                            hint: "`chmod 600 \(path)`, and consider the key compromised if others could read it")
        }
        var publicKey: CurvePublicKey?
        var secretKey: CurveSecretKey?
        for (number, fields) in try fieldLines(path) {
            let what = "\(path) line \(number)"
            switch (fields.first, fields.count) {
            case ("public-key", 2): publicKey = try CurvePublicKey(z85: fields[1], what: what)
            case ("secret-key", 2): secretKey = try CurveSecretKey(z85: fields[1], what: what)
            default:
                throw .security("\(what): expected `public-key <Z85>` or `secret-key <Z85>`",
                                hint: "the file must be as written by `neighbormae keygen`")
            }
        }
        guard let publicKey, let secretKey else {
            throw .security("\(path) lacks a \(publicKey == nil ? "public-key" : "secret-key") line",
                            hint: "the file must be as written by `neighbormae keygen`")
        }
        return try CurveKeyPair(publicKey: publicKey, secretKey: secretKey)
    }

    /// Loads a `NAME.pub` file (exactly one key).
    public static func loadPublicKey(_ path: String) throws(TransportError) -> CurvePublicKey {
        let list = try loadAllowList(path)
        guard list.count == 1, let key = list.entries.keys.first else {
            throw .security("\(path) holds \(list.count) public keys, expected 1",
                            hint: "pass the server's NAME.pub as written by `neighbormae keygen`")
        }
        return key
    }

    /// Loads an allow-list file.
    public static func loadAllowList(_ path: String) throws(TransportError) -> CurveAllowList {
        try CurveAllowList(parsing: readText(path), source: path)
    }

    // MARK: - Files

    private static func readText(_ path: String) throws(TransportError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .security("cannot read \(path)", hint: "check that the file exists and is readable")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Non-comment lines split into fields, with 1-based line numbers.
    private static func fieldLines(_ path: String) throws(TransportError) -> [(Int, [String])] {
        try readText(path).split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap {
            let line = $1.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { return nil }
            return ($0 + 1, line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init))
        }
    }

    /// Creates `path` exclusively with `mode` (set at creation, so a secret is never briefly readable).
    private static func createFile(_ path: String, contents: String, mode: mode_t) throws(TransportError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else {
            throw .security("cannot create \(path): \(String(cString: strerror(errno)))",
                            hint: "check the directory's permissions")
        }
        defer { close(fd) }
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fchmod(fd, mode) == 0, fsync(fd) == 0 else {
            throw .security("cannot write \(path): \(String(cString: strerror(errno)))", hint: "check free space")
        }
    }
}
