import Crypto
import Foundation

// MARK: - Which build is running (joiners must run the same one, SYSTEM.md §5)

/// Results are bit-identical only between identical builds (same kernels, same CPU target), so a worker
/// presents the SHA-256 of its own executable and the coordinator refuses a different one.
public enum BuildFingerprint {
    /// `sha256:<first 16 hex digits>` of the running executable (read once per process).
    public static let current: String = {
        let path = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        guard let handle = try? FileHandle(forReadingFrom: path) else { return "unknown-build" }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let block = try? handle.read(upToCount: 1 << 20), !block.isEmpty { hasher.update(data: block) }
        return "sha256:" + hasher.finalize().prefix(8).map { String(format: "%02x", $0) }.joined()
    }()
}
