import Foundation
import Training
#if canImport(Glibc)
import Glibc
#endif

/// A folder that appears whole or not at all (STYLE.md rule 9): the files are written into a hidden
/// sibling `.<name>.tmp-<pid>`, each fsync'd, the folder synced, then renamed onto the output and the
/// parent synced. A crash leaves at most the hidden folder, never a half-written output.
public enum ExportDirectory {
    /// Throws `outputExists` when `url` is anything but a missing path or an empty directory, unless
    /// `force`. Cheap; callers run it before the slow work so a wrong `--out` fails at once.
    public static func checkWritable(_ url: URL, force: Bool) throws(ExportError) {
        if !force, occupied(url) { throw .outputExists(url.path) }
    }

    /// Writes `files` (name, bytes) as the folder `url`. With `force` an existing output is moved aside,
    /// replaced, then deleted; without it an occupied output is refused and left untouched.
    public static func commit(_ files: [(name: String, data: Data)], to url: URL, force: Bool) throws(ExportError) {
        try checkWritable(url, force: force)
        let parent = url.deletingLastPathComponent(), name = url.lastPathComponent
        let temporary = parent.appendingPathComponent(".\(name).tmp-\(getpid())")
        do {
            try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw .write("cannot create \(parent.path): \(error.localizedDescription)")
        }
        try? FileManager.default.removeItem(at: temporary)          // our own leftover (same pid)
        do throws(CheckpointError) {
            try DurableFiles.makeDirectory(temporary)
            for file in files {
                try DurableFiles.write(file.data, to: temporary.appendingPathComponent(file.name))
            }
            try DurableFiles.syncDirectory(temporary)
            try moveIntoPlace(temporary, url, parent: parent)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw .write(describe(error))
        }
    }

    // MARK: - Helpers

    /// Whether something other than an empty directory is at `url` (a symlink counts, even to an
    /// empty directory: rename(2) would not replace it).
    static func occupied(_ url: URL) -> Bool {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path) else { return false }
        guard attributes[.type] as? FileAttributeType == .typeDirectory else { return true }
        return !((try? FileManager.default.contentsOfDirectory(atPath: url.path))?.isEmpty ?? false)
    }

    /// Renames the finished folder onto `url`. An empty directory there is replaced by rename(2) itself;
    /// anything else (only with `force`) is moved aside first and restored if the second rename fails.
    private static func moveIntoPlace(_ temporary: URL, _ url: URL, parent: URL) throws(CheckpointError) {
        guard occupied(url) else {
            try DurableFiles.rename(temporary, to: url)
            try DurableFiles.syncDirectory(parent)
            return
        }
        let old = parent.appendingPathComponent(".\(url.lastPathComponent).old-\(getpid())")
        try? FileManager.default.removeItem(at: old)
        try DurableFiles.rename(url, to: old)
        do throws(CheckpointError) {
            try DurableFiles.rename(temporary, to: url)
        } catch {
            try? DurableFiles.rename(old, to: url)
            throw error
        }
        try DurableFiles.syncDirectory(parent)
        try? FileManager.default.removeItem(at: old)
    }

    private static func describe(_ error: CheckpointError) -> String {
        if case let .io(what, code) = error { return "\(what) failed: \(String(cString: strerror(code)))" }
        return error.description
    }
}
