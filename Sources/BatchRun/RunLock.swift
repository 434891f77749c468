import Foundation
import RasterIO

// The lock itself (`RunLock`, `RunLockHolder`, `RunLockError`) lives in RasterIO, so that
// `landcover train` (TrainingData) takes the same lock; where a pipeline's lock file is, is BatchRun's.
extension RunLock {
    /// The lock file of a pipeline: `<output folder>/.landcover-<pipeline name>-<8 hex digits of
    /// the SHA-256 of its absolute path>[.shard-K-of-N].lock`. Shards lock separately, so the N
    /// shards of one pipeline run side by side while each shard runs once at a time.
    public static func path(pipelinePath: String, outputFolder: String, shard: Shard?) -> String {
        let absolute = URL(fileURLWithPath: pipelinePath).standardizedFileURL.path
        let stem = URL(fileURLWithPath: absolute).deletingPathExtension().lastPathComponent
        let tag = SHA256Hex.hex(of: Array(absolute.utf8)).prefix(8)
        let suffix = shard.map { ".\($0.fileSuffix)" } ?? ""
        return (outputFolder as NSString).appendingPathComponent(".landcover-\(stem)-\(tag)\(suffix).lock")
    }
}
