import Foundation

/// Why `neighbormae export` cannot write its folder, with what to do about it.
public enum ExportError: Error, CustomStringConvertible, Equatable {
    /// The output exists and holds something; nothing was touched.
    case outputExists(String)
    /// The reference tiles could not be read from the run's rasters.
    case referenceTiles(sources: [String], reason: String)
    /// `--stats` does not fit the model (channel count) or cannot be read.
    case statistics(String)
    /// Writing or committing the folder failed; the output is as it was before.
    case write(String)

    public var description: String {
        switch self {
        case .outputExists(let path):
            "\(path) exists and is not empty; hint: choose another --out or pass --force to replace it"
        case .referenceTiles(let sources, let reason):
            "cannot read reference tiles from \(sources.joined(separator: ", ")): \(reason); hint: run from the "
                + "directory the run was started in, or pass --reference-tiles 0 (no reference.safetensors)"
        case .statistics(let detail):
            "channel statistics: \(detail)"
        case .write(let detail):
            "export not written: \(detail)"
        }
    }
}
