import Classification
import Config
import Foundation
import TestSupport
import Testing

/// `runtime.tta`: the patch symmetries, and classifications averaged over them.
@Suite struct TestTimeAugmentationTests {
    /// A 3x3 plane with values 0...8, row-major.
    static let plane: [Float] = (0..<9).map(Float.init)

    static func transformed(_ transform: PatchTransform, _ values: [Float], size: Int, planes: Int = 1) -> [Float] {
        var out = [Float](repeating: -1, count: values.count)
        values.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { destination in
                guard let s = source.baseAddress, let d = destination.baseAddress else { return }
                transform.apply(s, to: d, size: size, planes: planes)
            }
        }
        return out
    }

    /// The passes are the identity first, then distinct symmetries: 1, 2 and 8 of them.
    @Test func passesAreDistinctSymmetriesIdentityFirst() {
        for (augmentation, count) in [(PipelineFile.TestTimeAugmentation.none, 1), (.flips, 2), (.d4, 8)] {
            let passes = PatchTransform.passes(augmentation)
            #expect(passes.count == count)
            #expect(passes.first == .identity)
            let images = Set(passes.map { Self.transformed($0, Self.plane, size: 3) })
            #expect(images.count == count, "\(augmentation): two passes give the same patch")
        }
        #expect(PatchTransform.passes(.flips).allSatisfy { !$0.swapsAxes }, "flips are mirrors only")
    }

    /// Known images of the 3x3 plane, written out by hand (numpy's fliplr, flipud and rot90
    /// agree), and every transform followed by its inverse gives the plane back, on several planes.
    @Test func transformsMatchHandWrittenImagesAndInvert() {
        let expected: [String: [Float]] = [
            "left-right mirror": [2, 1, 0, 5, 4, 3, 8, 7, 6],
            "top-bottom mirror": [6, 7, 8, 3, 4, 5, 0, 1, 2],
            "half turn": [8, 7, 6, 5, 4, 3, 2, 1, 0],
            "transpose": [0, 3, 6, 1, 4, 7, 2, 5, 8],
            "quarter turn counter-clockwise": [2, 5, 8, 1, 4, 7, 0, 3, 6],
            "quarter turn clockwise": [6, 3, 0, 7, 4, 1, 8, 5, 2],
        ]
        for transform in PatchTransform.passes(.d4) {
            if let image = expected[transform.description] {
                #expect(Self.transformed(transform, Self.plane, size: 3) == image, "\(transform)")
            }
            let twoPlanes = (0..<32).map(Float.init)
            let back = Self.transformed(transform.inverse, Self.transformed(transform, twoPlanes, size: 4, planes: 2), size: 4, planes: 2)
            #expect(back == twoPlanes, "\(transform) then its inverse")
        }
    }

    static func classify(in folder: URL, mode: String, segmentation: Bool, pointwise: Bool = false,
                         tta: PipelineFile.TestTimeAugmentation, workers: Int) throws -> [Data] {
        let sub = folder.appendingPathComponent("\(mode)-\(tta.rawValue)-\(workers)")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        let scene = folder.appendingPathComponent("scene.tif").path
        if !FileManager.default.fileExists(atPath: scene) {
            try PipelineFixtures.writeScene(scene, width: 150, height: 117, isNodata: { x, y in x + y < 20 })
        }
        let model = folder.appendingPathComponent("model-\(segmentation)-\(pointwise).onnx").path
        if !FileManager.default.fileExists(atPath: model) {
            try PipelineFixtures.writeModel(model, patchSize: 32, segmentation: segmentation, pointwise: pointwise)
        }
        var pipeline = PipelineFile(inputs: [.init(paths: [scene])], model: model, baseFolder: sub.path)
        pipeline.mode = PipelineFile.Mode(rawValue: mode) ?? .auto
        pipeline.tiling.stride = 16
        pipeline.runtime.testTimeAugmentation = tta
        pipeline.output.probabilities = true
        let plan = try PipelinePlan(pipeline: pipeline)
        try plan.createOutputFolder()
        let job = try plan.job(for: try #require(plan.scenes.first))
        let classifier = try SceneClassifier(job: job, model: plan.model, contract: plan.contract,
                                             settings: ClassifierSettings(plan: plan, workers: workers))
        _ = try classifier.run()
        // The map, its confidence and the class probabilities.
        return try [job.files.map, job.files.confidence, job.files.probabilities].compactMap { $0 }
            .map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    }

    /// With augmentation the map, confidence and probabilities are the same for 1 and 3 workers,
    /// and differ from those without it (the passes are really run and averaged).
    @Test(arguments: [("dense", false, PipelineFile.TestTimeAugmentation.flips), ("segmentation", true, .flips), ("segmentation", true, .d4)])
    func augmentedMapsDoNotDependOnWorkers(mode: String, segmentation: Bool, tta: PipelineFile.TestTimeAugmentation) throws {
        let folder = try TestPaths.temporaryFolder("tta\(mode)\(tta.rawValue)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let one = try Self.classify(in: folder, mode: mode, segmentation: segmentation, tta: tta, workers: 1)
        let three = try Self.classify(in: folder, mode: mode, segmentation: segmentation, tta: tta, workers: 3)
        let plain = try Self.classify(in: folder, mode: mode, segmentation: segmentation, tta: .none, workers: 1)
        #expect(one == three, "\(mode) \(tta): 1 and 3 workers differ")
        #expect(one != plain, "\(mode) \(tta): the augmented map equals the plain one")
    }

    /// A pointwise segmentation model commutes with every symmetry, so turning each pass's
    /// output back must give the plain map exactly: a pass turned back the wrong way (a quarter
    /// turn undone by the same quarter turn) would move classes across the patch.
    @Test func outputsAreTurnedBackBeforeAveraging() throws {
        let folder = try TestPaths.temporaryFolder("ttapointwise")
        defer { try? FileManager.default.removeItem(at: folder) }
        let plain = try Self.classify(in: folder, mode: "segmentation", segmentation: true, pointwise: true, tta: .none, workers: 2)
        let d4 = try Self.classify(in: folder, mode: "segmentation", segmentation: true, pointwise: true, tta: .d4, workers: 2)
        #expect(plain[0] == d4[0], "the class maps differ")
    }
}
