import Foundation
import RasterIO

extension PipelineFile {
    /// The pipeline with extra scenes from the command line appended to `inputs`: each argument
    /// is one scene (a file, a folder of band files, a SAFE product) or a glob whose every match
    /// is one scene; a URL (`https://...`, `s3://...`) or GDAL network path is one scene read over
    /// the network. Relative arguments are resolved against `workingDirectory` (not the pipeline
    /// file's folder, as a shell user expects).
    ///
    /// - Throws: ``PipelineError/invalidValue(key:value:reason:)`` naming the argument that does
    ///   not exist or matches nothing.
    public func addingScenes(_ arguments: [String], workingDirectory: String) throws -> PipelineFile {
        var copy = self
        for argument in arguments {
            // URLs and GDAL network paths are scenes as they are (GDAL reports a missing object).
            let remote = RemotePath.normalized(argument)
            if RemotePath.isRemote(remote) {
                copy.inputs.append(Input(paths: [remote], name: nil))
                continue
            }
            let absolute = argument.hasPrefix("/") ? argument
                : URL(fileURLWithPath: workingDirectory).appendingPathComponent(argument).standardizedFileURL.path
            if Glob.hasPattern(absolute) {
                guard !Glob.expand(absolute).isEmpty else {
                    throw PipelineError.invalidValue(key: "scene argument", value: argument, reason: "matches no file; check the pattern (quote it so the shell does not expand it first)")
                }
            } else if !FileManager.default.fileExists(atPath: absolute) {
                throw PipelineError.invalidValue(key: "scene argument", value: argument, reason: "does not exist (looked for \(absolute)); check the path")
            }
            copy.inputs.append(Input(paths: [absolute], name: nil))
        }
        return copy
    }
}
