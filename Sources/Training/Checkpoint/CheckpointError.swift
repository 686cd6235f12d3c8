import Foundation

// MARK: - Why a checkpoint could not be written or used

/// A checkpoint operation failed. Verification failures name the directory and what is wrong, so the
/// loader can report why it fell back to an older checkpoint.
public enum CheckpointError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A system call failed.
    case io(String, errno: Int32)
    /// The manifest is missing, unreadable, of an unknown format version, or inconsistent.
    case badManifest(URL, String)
    /// A file's size or SHA-256 differs from the manifest (corrupted or truncated).
    case checksumMismatch(URL, file: String)
    /// The tensors do not match the model's parameter layout or the manifest's state hash.
    case incompatible(URL, String)
    /// No checkpoint in the directory passed verification; each rejected one with its reason.
    case noValidCheckpoint(URL, rejected: [String])

    public var description: String {
        switch self {
        case let .io(what, code):
            "checkpoint: \(what) failed: \(String(cString: strerror(code)))"
        case let .badManifest(url, detail):
            "checkpoint \(url.lastPathComponent): bad manifest: \(detail)"
        case let .checksumMismatch(url, file):
            "checkpoint \(url.lastPathComponent): \(file) does not match its SHA-256 in the manifest (corrupted)"
        case let .incompatible(url, detail):
            "checkpoint \(url.lastPathComponent): \(detail)"
        case let .noValidCheckpoint(url, rejected):
            "checkpoint: no valid checkpoint in \(url.path)"
                + (rejected.isEmpty ? " (none written yet)" : ": " + rejected.joined(separator: "; "))
                + " (hint: start without --resume, or point at another run directory)"
        }
    }
}
