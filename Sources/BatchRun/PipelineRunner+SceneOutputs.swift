import CNN
import Classification
import Config
import Foundation
import Logging
import Products
import RasterIO

/// A classified scene's products beside its map (preview, polygons, STAC item) and its records.
extension PipelineRunner {
    func provenance(scene name: String, job: SceneJob, fingerprint: String, context: RunContext) -> [String: String] {
        var provenance = ["version": toolVersion, "model_sha256": context.modelHash, "scene": name, "mode": job.mode.rawValue,
                          "inputs_fingerprint": fingerprint, "settings_sha256": context.settingsHash]
        // Only when not the default, so maps made without them keep the metadata they always had.
        let tta = plan.pipeline.runtime.testTimeAugmentation
        if tta != .none { provenance["tta"] = tta.rawValue }
        if plan.model.precision != .fp32 { provenance["precision"] = plan.model.precision.rawValue }
        return provenance
    }

    /// When the scene was acquired: a STAC Item's `datetime`, else what the files say.
    static func acquisition(of job: SceneJob) -> AcquisitionTime? {
        if let datetime = job.input.datetime {
            return AcquisitionTime(text: datetime, source: "datetime of STAC Item \(job.input.name ?? job.input.label)")
        }
        return AcquisitionTime.find(in: job.scene)
    }

    /// Classifies a scene and writes every output; returns the report and the output records.
    func classify(_ input: SceneInput, fingerprint: String, reason: String, index: Int, count: Int,
                          context: RunContext, progress: @escaping (RunProgress) -> Void) throws -> (SceneReport, [OutputFileRecord]) {
        let job = try plan.job(for: input)
        let name = job.input.name ?? job.scene.name
        for path in job.files.all { context.temporaries.removeStale(for: path) }
        let store = plan.pipeline.objectStore
        defer {
            // Object-store outputs: the scratch folder holds one scene at a time.
            if store != nil { for path in job.files.all { unlink(path) } }
        }
        let classifier = try SceneClassifier(job: job, model: plan.model, contract: plan.contract, settings: settings)
        // The map's LANDCOVER_* metadata: the model's file name and the inputs besides the rest.
        var provenance = self.provenance(scene: name, job: job, fingerprint: fingerprint, context: context)
        provenance["model"] = URL(fileURLWithPath: plan.modelPath).lastPathComponent
        provenance["inputs"] = job.input.paths.joined(separator: ";")
        let cancellation = context.options.cancellation
        let result = try classifier.run(provenance: provenance, cancellation: cancellation) { done, total in
            progress(RunProgress(sceneIndex: index, sceneCount: count, sceneName: name, patchesDone: done, patchesTotal: total))
        }
        let legend = try ClassLegend(contract: plan.contract)
        try cancellation?.check()
        if let previewPath = job.files.preview {
            try PreviewRenderer.write(path: previewPath, classes: result.preview, width: result.previewWidth,
                                      height: result.previewHeight, legend: legend, classPixels: result.classPixels,
                                      title: "\(name) - \(plan.modelName)")
        }
        var times = result.times
        try cancellation?.check()
        if let polygonsPath = job.files.polygons, let format = plan.pipeline.output.polygons {
            let started = DispatchTime.now().uptimeNanoseconds
            let count = try ClassPolygons.write(mapPath: job.files.map, legend: legend, to: polygonsPath, format: format,
                                                eightConnected: plan.pipeline.output.polygonConnectivity == 8,
                                                geographic: plan.pipeline.output.geojsonCRS == .wgs84)
            times.polygonize = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            logger.debug("polygons written", metadata: ["event": "polygons", "scene": "\(name)", "file": "\(polygonsPath)", "polygons": "\(count)"])
        }
        try cancellation?.check()
        var outputs: [OutputFileRecord] = []
        // Sidecars exist only when GDAL had something to put in them.
        let files = job.files.files.filter { $0.role != .stac && (!$0.role.isSidecar || FileManager.default.fileExists(atPath: $0.path)) }
        func record(_ role: OutputRole, _ path: String) throws -> OutputFileRecord {
            let stamp = try FileStamp(path: path)
            // What is on disk now must be what the writer produced and checked.
            if let produced = result.committed.first(where: { $0.path == path }), UInt64(max(0, stamp.bytes)) != produced.bytes {
                throw RasterIOError.writeFailed(path: path, reason: "the file on disk has \(stamp.bytes) bytes, the writer produced \(produced.bytes)")
            }
            return OutputFileRecord(role: role, path: path, bytes: stamp.bytes,
                                    modifiedNanoseconds: stamp.modifiedNanosecondsSince1970, sha256: try SHA256Hex.hex(ofFile: path))
        }
        for (role, path) in files { outputs.append(try record(role, path)) }
        if let store, let stacPath = job.files.stac {
            outputs = try uploadAssets(outputs, marker: stacPath, store: store)
        }
        // The STAC item comes last: it carries the size and SHA-256 of every other output.
        if let stacPath = job.files.stac {
            let id = URL(fileURLWithPath: job.files.map).deletingPathExtension().lastPathComponent
            // The item's landcover:* properties: the model's name besides the rest.
            var properties = self.provenance(scene: name, job: job, fingerprint: fingerprint, context: context)
            properties["model"] = plan.modelName
            // The pipeline file's own hash goes to the item and the report, not into the map:
            // the map's bytes depend on its settings, not on the file's comments or on whether
            // `run` or `classify` made it.
            if let pipelineHash = context.pipelineHash { properties["pipeline_sha256"] = pipelineHash }
            let modelBytes = Int(try FileStamp(path: plan.modelPath).bytes)
            let model = try STACModelDescription(model: plan.model, path: plan.modelPath, sha256: context.modelHash, bytes: modelBytes)
            let item = try STACItem.make(id: id, itemPath: stacPath, grid: result.outputGrid, legend: legend, outputs: outputs,
                                         cloudOptimized: plan.pipeline.output.format == .cog,
                                         acquisition: Self.acquisition(of: job), date: job.date, created: Date(),
                                         model: model, modelPath: plan.modelPath,
                                         sourceFiles: job.input.paths.filter(STACSceneItem.isItemPath) + Self.sourceFiles(of: job.scene),
                                         softwareVersion: toolVersion, properties: properties, publishedBesideAssets: store != nil)
            try STACItem.writeJSON(item, to: stacPath)
            outputs.append(try record(.stac, stacPath))
        }
        var published: (String) -> String = { $0 }
        if let store {
            try cancellation?.check()
            outputs = try publishMarker(outputs, store: store)
            published = { ObjectStore.display(store.object(self.publishedName($0))) }
        }
        var report = SceneReport(name: name, inputs: job.input.paths, status: .done, error: nil, output: published(job.files.map),
                                 preview: job.files.preview.map(published), stac: job.files.stac.map(published), width: result.outputGrid.width,
                                 height: result.outputGrid.height, epsg: result.outputGrid.spatialReference?.epsg,
                                 mode: job.mode.rawValue, patches: result.patches, classifiedPatches: result.classifiedPatches,
                                 classes: zip(plan.contract.classNames, result.classPixels).enumerated().map { index, entry in
                                     SceneReport.ClassCount(name: entry.0, pixels: entry.1,
                                                            color: index < plan.contract.classColors.count ? plan.contract.classColors[index].description : nil)
                                 },
                                 nodataPixels: result.nodataPixels, times: times)
        report.probabilities = job.files.probabilities.map(published)
        report.polygons = job.files.polygons.map(published)
        report.reason = reason
        report.inputsFingerprint = fingerprint
        report.outputs = outputs
        return (report, outputs)
    }
}
