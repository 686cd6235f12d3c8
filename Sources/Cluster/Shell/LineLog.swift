import Foundation

// MARK: - Where the shells' log lines go

public enum LineLog {
    /// One line to standard output, flushed at once (progress shows up when piped to a file).
    public static let standardOutput: @Sendable (String) -> Void = { line in
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
