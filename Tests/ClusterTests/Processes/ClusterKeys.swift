import Comm
import Foundation

/// Key pairs and allow-lists in a 0700 folder: the coordinator admits the workers; every ring receiver
/// admits the workers and the coordinator (which donates checkpointed state); the stranger is in none.
struct ClusterKeys {
    let folder: String
    init(in root: URL, workers names: [String]) throws {
        folder = root.appendingPathComponent("keys").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        var workers = CurveAllowList()
        var ring = CurveAllowList()
        for name in ["coordinator", "stranger"] + names {
            let pair = try CurveKeyPair.generate()
            try CurveKeyFiles.write(pair, directory: folder, name: name)
            if names.contains(name) { workers.insert(pair.publicKey, name: name) }
            if name != "stranger" { ring.insert(pair.publicKey, name: name) }
        }
        try workers.fileText.write(toFile: folder + "/workers.allow", atomically: true, encoding: .utf8)
        try ring.fileText.write(toFile: folder + "/ring.allow", atomically: true, encoding: .utf8)
    }

    func key(_ name: String) -> String { "\(folder)/\(name).key" }
    var coordinatorPublic: String { "\(folder)/coordinator.pub" }
}
