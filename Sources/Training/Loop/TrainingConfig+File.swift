import Foundation
import Yams

// MARK: - run.yaml: a partial configuration over the defaults

extension TrainingConfig {
    /// Reads a YAML (or JSON, a subset of YAML) file whose keys override the defaults, e.g.
    ///
    ///     steps: 2000
    ///     model: { encoderWidth: 384, encoderDepth: 6 }
    ///     sources: [/data/s2/2023, /data/s2/2024]
    ///
    /// Unknown keys and wrong types are errors that name the key path; the result is validated.
    public static func load(contentsOf url: URL) throws(TrainingConfigError) -> TrainingConfig {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw .invalid("cannot read \(url.path): \(error.localizedDescription)")
        }
        return try parse(yaml: text, source: url.lastPathComponent)
    }

    /// Parses YAML text over the defaults (see `load(contentsOf:)`); `source` names it in errors.
    public static func parse(yaml text: String,
                             source: String = "config") throws(TrainingConfigError) -> TrainingConfig {
        let overrides: Any?
        do {
            overrides = try Yams.load(yaml: text)
        } catch {
            throw .invalid("\(source) is not valid YAML: \(error)")
        }
        var tree = defaultTree()
        if let overrides {
            guard let mapping = overrides as? [String: Any] else {
                throw .invalid("\(source) must be a mapping of keys to values, e.g. `steps: 100`")
            }
            try merge(mapping, into: &tree, path: "", source: source)
        }
        let config: TrainingConfig
        do {
            let data = try JSONSerialization.data(withJSONObject: tree)
            config = try JSONDecoder().decode(TrainingConfig.self, from: data)
        } catch let DecodingError.typeMismatch(type, context), let DecodingError.valueNotFound(type, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw .invalid("\(source): \(path) must be a \(type)")
        } catch let DecodingError.dataCorrupted(context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw .invalid("\(source): \(path): \(context.debugDescription)")
        } catch {
            throw .invalid("\(source): \(error)")
        }
        try config.validate()
        return config
    }

    /// The configuration as YAML (every key; what a run directory's `config.yaml` holds), in YAML's JSON
    /// flow syntax: Yams' block emitter rounds doubles to 15 digits, which would change a resumed run.
    public func yaml() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try! encoder.encode(self), as: UTF8.self)   // plain Codable values
        return "# NeighborMAE run configuration, every key resolved (JSON syntax is YAML)\n" + json + "\n"
    }

    // MARK: - Pieces

    /// The defaults as a JSON-like tree.
    private static func defaultTree() -> [String: Any] {
        let data = try! JSONEncoder().encode(TrainingConfig())   // plain Codable values: cannot fail
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// Overrides `tree` with `overrides`, recursing into mappings; refuses keys the defaults lack.
    private static func merge(_ overrides: [String: Any], into tree: inout [String: Any], path: String,
                              source: String) throws(TrainingConfigError) {
        for (key, value) in overrides.sorted(by: { $0.key < $1.key }) {
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            guard let current = tree[key] else {
                let known = tree.keys.sorted().joined(separator: ", ")
                throw .invalid("\(source): unknown key \(keyPath) (known here: \(known))")
            }
            if var nested = current as? [String: Any] {
                guard let nestedOverrides = value as? [String: Any] else {
                    throw .invalid("\(source): \(keyPath) must be a mapping")
                }
                try merge(nestedOverrides, into: &nested, path: keyPath, source: source)
                tree[key] = nested
            } else {
                tree[key] = value
            }
        }
    }
}
