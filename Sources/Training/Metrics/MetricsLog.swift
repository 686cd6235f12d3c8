import Foundation

/// Appends one JSON object per line to `metrics.jsonl` in the run directory.
///
/// Each record is written with a single `write(2)` of a complete line and flushed to the kernel at
/// once, so a crash leaves at most the last line missing, never a torn one that breaks readers.
/// Keys are sorted so lines diff cleanly.
public final class MetricsLog {
    public let url: URL
    private let handle: FileHandle

    /// Opens (creating if needed) `url` for appending.
    public init(url: URL) throws {
        self.url = url
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
            }
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    deinit {
        try? handle.close()
    }

    /// Appends one record. Values must be JSON-representable (numbers, strings, bools, arrays, objects).
    public func append(_ record: [String: Any]) throws {
        var line = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
        line.append(0x0A)
        try handle.write(contentsOf: line)
    }

    /// Drops the records of steps at or after `step` (a resumed run repeats them), rewriting the file
    /// through a temporary file and a rename so a crash keeps either the old or the new file whole.
    public static func discardRecords(in url: URL, fromStep step: Int) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let text = try String(contentsOf: url, encoding: .utf8)
        let kept = text.split(separator: "\n", omittingEmptySubsequences: true).filter { line in
            guard let record = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                return false
            }
            return (record["step"] as? Int).map { $0 < step } ?? true
        }
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        try Data(kept.map { $0 + "\n" }.joined().utf8).write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
    }

    /// Reads every complete record of a metrics file (a torn last line is ignored).
    public static func read(_ url: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: true).compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }
}
