import Foundation

extension PipelineFile {
    /// The pipeline with extra scenes from the command line appended to `inputs`: each argument
    /// is one scene (a file, a folder of band files, a SAFE product) or a glob whose every match
    /// is one scene. Relative arguments are resolved against `workingDirectory` (not the pipeline
    /// file's folder, as a shell user expects).
    ///
    /// - Throws: ``PipelineError/invalidValue(key:value:reason:)`` naming the argument that does
    ///   not exist or matches nothing.
    public func addingScenes(_ arguments: [String], workingDirectory: String) throws -> PipelineFile {
        var copy = self
        for argument in arguments {
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
