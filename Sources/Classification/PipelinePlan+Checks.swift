import CNN
import Config
import Foundation
import RasterIO

/// The checks a plan makes before any scene runs: tiling against the model, inputs, outputs
/// and memory (`validate` and `run` refuse the same pipelines).
extension PipelinePlan {
    /// Checks the tiling against the model before any scene: the stride, the mode, the patch size
    /// the model's input takes (fixed height and width, and a plan of the model at that size).
    /// `onePatch` is a session of the model (its plans are cached).
    func checkTiling(onePatch: InferenceSession) throws {
        let p = patchSize
        guard PipelineFile.Limits.patchSize.contains(p) else {
            throw PipelineError.invalidValue(key: "tiling.patch_size", value: "\(p)", reason: "(the model's) must be from \(PipelineFile.Limits.patchSize.lowerBound) to \(PipelineFile.Limits.patchSize.upperBound) pixels")
        }
        if let stride = pipeline.tiling.stride, stride > p {
            throw PipelineError.invalidValue(key: "tiling.stride", value: "\(stride)", reason: "must be between 1 and the patch size (\(p)), or patches would leave gaps")
        }
        if try resolveMode() == .patchResolution, let stride = pipeline.tiling.stride, stride != p {
            throw PipelineError.invalidValue(key: "tiling.stride", value: "\(stride)", reason: "must equal the patch size with output.patch_resolution (one output pixel per patch)")
        }
        if let shape = model.inputs.first?.shape, shape.count == 4 {
            for (axis, name) in [(2, "height"), (3, "width")] {
                if case .value(let fixed) = shape[axis], fixed != Int64(p) {
                    throw PipelineError.invalidValue(key: "tiling.patch_size", value: "\(p)", reason: "does not fit the model: its input \(name) is fixed at \(fixed); use \(fixed)")
                }
            }
        }
        do {
            _ = try onePatch.workingBytes(inputShapes: [model.inputs.first?.name ?? "input": [1, contract.bands.count, p, p]])
        } catch {
            throw PipelineError.invalidValue(key: "tiling.patch_size", value: "\(p)", reason: "is a patch size the model cannot take (\(ErrorText.describe(error))); use the model's patch size \(contract.patchSize)")
        }
    }

    /// Checks what must hold before any scene of a run (or a dry run) starts, so that `validate`
    /// refuses what `run` would refuse for the whole pipeline:
    /// - every input is a regular file, a folder or a GDAL virtual path (a FIFO or device is
    ///   refused without being opened), and so is the mask raster;
    /// - every output name made from `output.name` is a file name inside the output folder;
    ///   no output is an input, the model, the mask or the pipeline file, lies inside a folder
    ///   input or matches a glob of `inputs` (it would become a scene of the next run); no two
    ///   scenes share an output;
    /// - `workers` sessions running batches of ``batchSize`` patches fit in `runtime.memory_mb`.
    /// - Throws: ``PipelineError/invalidValue(key:value:reason:)`` naming the key, the file or both scenes.
    public func preflight(workers: Int) throws {
        try checkInputKinds()
        try checkOutputs()
        try checkModelMemory(workers: workers)
    }

    func checkInputKinds() throws {
        for (index, input) in pipeline.inputs.enumerated() {
            for path in input.paths.map(pipeline.resolve) where !Glob.hasPattern(path) {
                if let kind = FileKind.nonRegular(path) {
                    throw PipelineError.invalidValue(key: "inputs[\(index)]", value: path, reason: "is \(kind), not a raster file, folder or GDAL /vsi path; give a file or a folder")
                }
            }
        }
        for scene in scenes {
            for path in scene.paths where !FileKind.isGDALConnection(path) {
                if let kind = FileKind.nonRegular(path) {
                    throw PipelineError.invalidValue(key: "inputs", value: path, reason: "is \(kind), not a raster file, folder or GDAL /vsi path; give a file or a folder")
                }
            }
        }
        if let mask = pipeline.nodata.maskPath, let kind = FileKind.nonRegular(pipeline.resolve(mask)) {
            throw PipelineError.invalidValue(key: "nodata.mask.path", value: mask, reason: "is \(kind), not a raster file; give a raster file")
        }
    }

    /// `path` with symbolic links of its existing part resolved (the missing tail kept), so
    /// that two spellings of one file compare equal.
    static func canonical(_ path: String) -> String {
        var existing = URL(fileURLWithPath: path).standardizedFileURL
        var tail: [String] = []
        while !FileManager.default.fileExists(atPath: existing.path), existing.path != "/" {
            tail.insert(existing.lastPathComponent, at: 0)
            existing.deleteLastPathComponent()
        }
        var resolved = existing.resolvingSymlinksInPath()
        for component in tail { resolved.appendPathComponent(component) }
        return resolved.standardizedFileURL.path
    }

    func checkOutputs() throws {
        let folder = Self.canonical(outputFolder)
        let plainFolder = URL(fileURLWithPath: outputFolder).standardizedFileURL.path
        // What the run reads: scene files and folders, the model, the mask, the pipeline file.
        var readFiles: [String: String] = [:]
        var readFolders: [(path: String, scene: String)] = []
        for input in scenes {
            for path in input.paths where !FileKind.isGDALConnection(path) {
                let canonical = Self.canonical(path)
                var isFolder: ObjCBool = false
                if FileManager.default.fileExists(atPath: canonical, isDirectory: &isFolder), isFolder.boolValue {
                    readFolders.append((canonical, "scene \(input.label)"))
                } else {
                    readFiles[canonical] = "an input of scene \(input.label)"
                }
            }
        }
        readFiles[Self.canonical(modelPath)] = "the model"
        if let mask = pipeline.nodata.maskPath { readFiles[Self.canonical(pipeline.resolve(mask))] = "the mask raster" }
        if let pipelinePath { readFiles[Self.canonical(pipelinePath)] = "the pipeline file" }
        let patterns = pipeline.inputs.flatMap { $0.paths.map(pipeline.resolve) }.filter(Glob.hasPattern)

        var writers: [String: String] = [:]
        var seen = Set<String>()
        // A scene listed twice (a glob overlapping a listed path) runs once: check it once.
        for input in scenes where seen.insert(input.key(baseFolder: pipeline.baseFolder)).inserted {
            let (name, _) = outputFileName(for: input)
            if let problem = PipelineFile.fileNameProblem(name) {
                throw PipelineError.invalidValue(key: "output.name", value: pipeline.output.name, reason: "gives scene \(input.label) the file name '\(YAMLMap.excerpt(name))', which \(problem); change output.name or the scene's name")
            }
            let map = URL(fileURLWithPath: folder).appendingPathComponent(name).standardizedFileURL.path
            for path in outputFiles(map: map).all {
                guard (path as NSString).deletingLastPathComponent == folder else {
                    throw PipelineError.invalidValue(key: "output.name", value: pipeline.output.name, reason: "puts scene \(input.label)'s output \(path) outside the output folder \(folder); use a file name")
                }
                if let other = writers[path] {
                    throw PipelineError.invalidValue(key: "output.name", value: pipeline.output.name, reason: "gives \(other) and scene \(input.label) the same output \(path); put {scene} in output.name or give the scenes distinct names")
                }
                writers[path] = "scene \(input.label)"
                if let read = readFiles[path] {
                    throw PipelineError.invalidValue(key: "output.name", value: pipeline.output.name, reason: "makes scene \(input.label) write \(path), which is \(read); write outputs to another output.folder")
                }
                if let inside = readFolders.first(where: { path.hasPrefix($0.path + "/") }) {
                    throw PipelineError.invalidValue(key: "output.folder", value: pipeline.output.folder, reason: "puts scene \(input.label)'s output \(path) inside the input folder of \(inside.scene), which that scene reads; write outputs to another folder")
                }
                let spelt = (plainFolder as NSString).appendingPathComponent((path as NSString).lastPathComponent)
                if let pattern = patterns.first(where: { fnmatch($0, path, FNM_PATHNAME) == 0 || fnmatch($0, spelt, FNM_PATHNAME) == 0 }) {
                    throw PipelineError.invalidValue(key: "output.name", value: pipeline.output.name, reason: "makes scene \(input.label) write \(path), which the input pattern \(pattern) matches: the next run would classify it as a scene; write outputs to another output.folder")
                }
            }
        }
    }

    /// Refuses a plan whose `workers` model sessions, each running batches of ``batchSize``
    /// patches, need more working memory than `runtime.memory_mb`.
    func checkModelMemory(workers: Int) throws {
        let perSession = sessionWorkingBytes
        let budget = pipeline.runtime.memoryMiB << 20
        let (total, overflow) = perSession.multipliedReportingOverflow(by: max(1, workers))
        if overflow || total > budget {
            let mib = overflow ? "more than \(Int.max >> 20)" : "\((total + (1 << 20) - 1) >> 20)"
            throw PipelineError.invalidValue(key: "runtime.memory_mb", value: "\(pipeline.runtime.memoryMiB)", reason: "is too small for the model: \(workers) worker(s) running batches of \(batchSize) patches of \(patchSize)x\(patchSize) need \(mib) MiB of activations; lower runtime.batch_size or runtime.threads (--threads), or raise runtime.memory_mb")
        }
    }
}
