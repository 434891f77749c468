import CNN
import Classification
import Config
import Foundation
import RasterIO
import TestSupport
import Testing

/// The classifier on its own, without the batch runner: a plan's job, its stages and its one
/// owner of the output files.
@Suite struct SceneClassifierTests {
    /// A generated 13-band GeoTIFF scene, a model and the plan's job for it.
    static func job(in folder: URL, mode: String, segmentation: Bool) throws -> (PipelinePlan, SceneJob) {
        try PipelineFixtures.writeScene(folder.appendingPathComponent("scene.tif").path, width: 203, height: 151,
                                        isNodata: { x, y in x + y < 20 })
        try PipelineFixtures.writeModel(folder.appendingPathComponent("model.onnx").path, patchSize: 32, segmentation: segmentation)
        var pipeline = PipelineFile(inputs: [.init(paths: [folder.appendingPathComponent("scene.tif").path])],
                                    model: "model.onnx", baseFolder: folder.path)
        pipeline.mode = PipelineFile.Mode(rawValue: mode) ?? .auto
        pipeline.tiling.stride = 16
        pipeline.output.probabilities = true
        let plan = try PipelinePlan(pipeline: pipeline)
        try plan.createOutputFolder()
        let scene = try #require(plan.scenes.first)
        return (plan, try plan.job(for: scene))
    }

    static func bytes(_ files: SceneOutputFiles) throws -> [Data] {
        try [files.map, files.confidence, files.probabilities].compactMap { $0 }.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    }

    /// One worker and three give byte-identical map, confidence and probability files, and the
    /// class counts add up to the map's pixels.
    @Test(arguments: [("patch", false), ("dense", false), ("segmentation", true)])
    func workerCountDoesNotChangeTheFiles(mode: String, segmentation: Bool) throws {
        let folder = try TestPaths.temporaryFolder("workers\(mode)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (plan, job) = try Self.job(in: folder, mode: mode, segmentation: segmentation)
        var outputs: [[Data]] = []
        for workers in [1, 3] {
            let classifier = try SceneClassifier(job: job, model: plan.model, contract: plan.contract,
                                                 settings: ClassifierSettings(plan: plan, workers: workers))
            let result = try classifier.run()
            #expect(result.classPixels.reduce(0, +) + result.nodataPixels == result.outputGrid.width * result.outputGrid.height)
            #expect(result.nodataPixels > 0 && result.classPixels.reduce(0, +) > 0)
            #expect(FileManager.default.fileExists(atPath: job.files.style), "the map's QGIS style is written with it")
            outputs.append(try Self.bytes(job.files))
        }
        #expect(outputs[0] == outputs[1], "\(mode): 1 and 3 workers differ")
    }

    /// A cancelled classification throws ``SceneInterrupted`` and leaves no file at all: no
    /// map, no sidecar, no temporary file.
    @Test func cancellationLeavesNothing() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (plan, job) = try Self.job(in: folder, mode: "dense", segmentation: false)
        let cancellation = RunCancellation()
        let classifier = try SceneClassifier(job: job, model: plan.model, contract: plan.contract,
                                             settings: ClassifierSettings(plan: plan, workers: 2))
        #expect(throws: SceneInterrupted.self) {
            _ = try classifier.run(cancellation: cancellation) { done, _ in
                if done > 0 { cancellation.cancel(signal: SIGTERM) }
            }
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: plan.outputFolder)
        #expect(left.isEmpty, "left behind: \(left)")
    }
}
