import Foundation
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Writes that survive a crash or power loss

/// File operations with explicit `fsync`, for state that must never be half-written (SYSTEM.md §6).
/// A file written here is complete on disk when the call returns; a directory entry (create, rename)
/// is durable once its parent directory has been synced. Public for the other writers of durable
/// folders (the timm export).
public enum DurableFiles {
    /// Creates `url` (which must not exist), writes `data` and fsyncs it.
    public static func write(_ data: Data, to url: URL) throws(CheckpointError) {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io("create \(url.path)", errno: errno) }
        defer { close(fd) }
        let failure: Int32? = data.withUnsafeBytes { bytes in
            var written = 0
            while written < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += n
            }
            return nil
        }
        if let failure { throw .io("write \(url.path)", errno: failure) }
        guard fsync(fd) == 0 else { throw .io("fsync \(url.path)", errno: errno) }
    }

    /// Fsyncs a directory, making the creations, renames and deletions inside it durable.
    public static func syncDirectory(_ url: URL) throws(CheckpointError) {
        let fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("open directory \(url.path)", errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io("fsync directory \(url.path)", errno: errno) }
    }

    /// Creates a directory (mode 0755) that must not exist yet.
    public static func makeDirectory(_ url: URL) throws(CheckpointError) {
        guard mkdir(url.path, 0o755) == 0 else { throw .io("mkdir \(url.path)", errno: errno) }
    }

    /// Atomically renames `from` to `to` (same file system; replaces a file or symlink at `to`).
    public static func rename(_ from: URL, to: URL) throws(CheckpointError) {
        guard Glibc.rename(from.path, to.path) == 0 else {
            throw .io("rename \(from.path) -> \(to.path)", errno: errno)
        }
    }

    /// Points the symlink `link` at `target` (relative) atomically: a new link, then a rename over the old.
    public static func replaceSymlink(_ link: URL, target: String) throws(CheckpointError) {
        let temporary = link.deletingLastPathComponent().appendingPathComponent(".\(link.lastPathComponent).tmp")
        unlink(temporary.path)
        guard symlink(target, temporary.path) == 0 else { throw .io("symlink \(temporary.path)", errno: errno) }
        try rename(temporary, to: link)
    }
}
