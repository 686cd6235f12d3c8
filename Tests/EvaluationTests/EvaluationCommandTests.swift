import Foundation
import Testing
import Training

/// `neighbormae probe` and `neighbormae export` as real processes on a tiny trained run: the wiring from
/// flags to files and exit codes, and that bad input ends with a clear message and touches nothing.
@Suite("probe and export commands (real processes)", .serialized) struct EvaluationCommandTests {
    /// The neighbormae binary of the same build, beside the test bundle.
    static let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        .appendingPathComponent("neighbormae")

    /// Runs `neighbormae arguments…`; (exit status, stdout + stderr). Output goes through a file, never a pipe
    /// that could fill up.
    static func run(_ arguments: [String], in folder: URL) throws -> (status: Int32, output: String) {
        let log = folder.appendingPathComponent("command-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    @Test func exportWritesTheFolderAndRefusesToOverwriteIt() throws {
        let trained = try TrainedTinyRun(steps: 2)
        defer { trained.remove() }
        let (folder, run) = (trained.folder, trained.run)
        let out = folder.appendingPathComponent("timm")
        let first = try Self.run(["export", "--checkpoint", run.path, "--out", out.path, "--reference-tiles", "4"],
                                 in: folder)
        #expect(first.status == 0, "\(first.output)")
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(files == ["config.json", "model.safetensors", "reference.safetensors"])
        let model = try Data(contentsOf: out.appendingPathComponent("model.safetensors"))

        let again = try Self.run(["export", "--checkpoint", run.path, "--out", out.path], in: folder)
        #expect(again.status != 0 && again.output.contains("--force"), "\(again.output)")
        #expect(try Data(contentsOf: out.appendingPathComponent("model.safetensors")) == model)
        let forced = try Self.run(["export", "--checkpoint", run.path, "--out", out.path, "--force",
                                   "--reference-tiles", "0"], in: folder)
        #expect(forced.status == 0, "\(forced.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
            == ["config.json", "model.safetensors"])
    }

    @Test func probeReportsAndWritesJSON() throws {
        let trained = try TrainedTinyRun(steps: 2)
        defer { trained.remove() }
        let (folder, run, scene) = (trained.folder, trained.run, trained.scene)
        let json = folder.appendingPathComponent("probe.json")
        let result = try Self.run(["probe", "--checkpoint", run.path, "--random-init", "--labels", scene,
                                   "--label-rule", "quantiles:2", "--label-band", "1", "--tile-window", "16",
                                   "--repeats", "2", "--pool", "both", "--json", json.path], in: folder)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("192 labelled tiles") && result.output.contains("== summary"))
        let decoded = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any]
        let entries = decoded?["entries"] as? [[String: Any]] ?? []
        #expect(entries.map { $0["kind"] as? String ?? "" }
            == ["NeighborMAE", "NeighborMAE", "random init", "random init"])
        #expect(decoded?["classCounts"] as? [Int] == [96, 96])
    }

    @Test func badProbeInputEndsWithAClearMessage() throws {
        let trained = try TrainedTinyRun(steps: 2)
        defer { trained.remove() }
        let (folder, run, scene) = (trained.folder, trained.run, trained.scene)
        let cases: [([String], String)] = [
            (["--labels", scene, "--label-rule", "median"], "unknown rule"),
            (["--labels", folder.appendingPathComponent("missing.tif").path], "missing.tif"),
            (["--labels", scene], "does not look like a class raster"),
            (["--labels", scene, "--label-rule", "quantiles:2", "--held-out", "1.5"], "--held-out"),
        ]
        for (arguments, expected) in cases {
            let result = try Self.run(["probe", "--checkpoint", run.path] + arguments, in: folder)
            #expect(result.status != 0 && result.output.contains(expected), "\(arguments): \(result.output)")
        }
        let noRun = try Self.run(["probe", "--checkpoint", folder.path, "--labels", scene], in: folder)
        #expect(noRun.status != 0 && noRun.output.contains("no checkpoint"), "\(noRun.output)")
    }
}
