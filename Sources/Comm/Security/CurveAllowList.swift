import Foundation

// MARK: - Which client keys a CURVE server admits

/// The public keys a CURVE server admits, each with a name for logs.
///
/// File format (one key per line): `<40 Z85 characters> [name]`; blank lines and lines starting with `#`
/// are ignored. A `.pub` file written by `neighbormae keygen` is a valid one-entry allow-list, so
/// `cat worker-*.pub > allow-list` builds one.
public struct CurveAllowList: Sendable, Equatable {
    /// Admitted keys and their names ("" when the file gave none).
    public private(set) var entries: [CurvePublicKey: String]

    public init(_ keys: [CurvePublicKey] = []) {
        entries = Dictionary(keys.map { ($0, "") }, uniquingKeysWith: { first, _ in first })
    }

    public init(named: [CurvePublicKey: String]) {
        entries = named
    }

    public mutating func insert(_ key: CurvePublicKey, name: String = "") {
        entries[key] = name
    }

    public func contains(_ key: CurvePublicKey) -> Bool { entries[key] != nil }

    public func name(of key: CurvePublicKey) -> String? { entries[key] }

    public var count: Int { entries.count }

    /// Parses the text of an allow-list file; `source` names it in errors.
    public init(parsing text: String, source: String) throws(TransportError) {
        entries = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let key = try CurvePublicKey(z85: String(fields[0]), what: "\(source) line \(index + 1)")
            entries[key] = fields.dropFirst().joined(separator: " ")
        }
    }

    /// The text of an allow-list file for these entries (sorted by name, then key).
    public var fileText: String {
        let lines = entries.map { key, name in name.isEmpty ? key.z85 : "\(key.z85) \(name)" }.sorted()
        return "# neighbormae CURVE allow-list: one public key per line, optional name after it\n"
            + lines.map { $0 + "\n" }.joined()
    }
}
