import ArgumentParser
import Evaluation
import Foundation

/// `neighbormae export --checkpoint PATH --out DIR`: the pretrained encoder of a run as a folder that timm /
/// PyTorch loads (model.safetensors under `VisionTransformer` names, config.json, reference.safetensors);
/// `scripts/check-export DIR` compares timm's features with ours.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a run's pretrained encoder as a timm VisionTransformer (safetensors + config.json).")

    @Option(help: "A run directory, its checkpoints/ folder, or one step-NNNNNNN checkpoint (newest valid one).")
    var checkpoint: String
    @Option(help: "Output folder, written atomically; refused if it exists and is not empty (see --force).")
    var out: String
    @Option(help: "Weights format: \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format = ExportFormat.safetensors.rawValue
    @Option(name: .customLong("reference-tiles"),
            help: "Real tiles of the run's data written with our features for checking (0 = none).")
    var referenceTiles = 8
    @Flag(help: "Replace an existing output folder.")
    var force = false
    @Option(help: "channel-stats.json to normalise with, instead of re-estimating it from the run's rasters.")
    var stats: String?

    func validate() throws {
        guard ExportFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be one of \(ExportFormat.allCases.map(\.rawValue)), not \(format)")
        }
        guard (0...4096).contains(referenceTiles) else {
            throw ValidationError("--reference-tiles must be in 0...4096, not \(referenceTiles)")
        }
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw ValidationError("--checkpoint \(checkpoint) does not exist")
        }
    }

    func run() throws {
        let output = URL(fileURLWithPath: out)
        try ExportDirectory.checkWritable(output, force: force)        // before the slow part
        let saved = try stats.map(PretrainedEncoder.statistics(file:))
        let encoder = try PretrainedEncoder.load(from: URL(fileURLWithPath: checkpoint), stats: saved,
                                                 log: { print("[export] \($0)") })
        print("[export] \(encoder.origin), step \(encoder.step)")
        let reference = referenceTiles == 0 ? nil
            : try ReferenceTiles.anchors(count: referenceTiles, config: encoder.config, stats: encoder.stats)
        let report = try EncoderExport.write(encoder, reference: reference, to: output, force: force)
        print("[export] \(report.tensorCount) tensors, \(report.parameterCount) parameters -> "
              + "\(output.path)/\(EncoderExport.modelFile); dropped \(report.dropped.count) decoder-side tensors")
        print("[export] \(EncoderExport.configFile): timm model_args and the input normalisation "
              + "(per-channel mean/std of RAW raster values, not 0..1 ImageNet)")
        if report.referenceTiles > 0 {
            print("[export] \(EncoderExport.referenceFile): \(report.referenceTiles) tiles with our features; "
                  + "check with scripts/check-export \(output.path)")
        }
    }
}
