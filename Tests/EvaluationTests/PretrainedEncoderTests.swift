import Evaluation
import Foundation
import NN
import NeighborMAE
import TensorCore
import Testing
import Training
import TrainingTestSupport

@Suite struct PretrainedEncoderTests {
    @Test func aFolderWithoutCheckpointsIsAClearError() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("encoder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: EvaluationError.noCheckpoint(folder.path)) { try PretrainedEncoder.load(from: folder) }
    }
}
