import Classification
import Config
import Foundation
import Products

/// One machine's share of a batch when N machines split it: shard `index` of `count` processes
/// the scenes whose **stable hash** falls into it.
///
/// Partitioning rule: the scene key (see `SceneInput.key(baseFolder:)`) is hashed
/// with SHA-256; its first 8 bytes, read as a big-endian unsigned integer, modulo `count` give the
/// shard. Every machine computes the same assignment from the scene alone, without coordination,
/// and a scene keeps its shard when others are added to or removed from the batch (a round-robin
/// over the sorted list would move scenes between shards whenever a new scene sorts before them,
/// so overlapping cron runs could process one twice and another not at all). The price: shard
/// sizes vary around `scenes / count` like a binomial draw (for 1,000 scenes over 10 shards, about
/// ±10 %), and a small batch can leave a shard empty.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// 0-based shard index, below `count`.
    public let index: Int
    /// Number of shards.
    public let count: Int

    /// Number of shards allowed (`--shard K/N`, `--shard-count`, `LANDCOVER_SHARD_COUNT`).
    public static let countRange = 1...100_000

    /// Creates shard `index` of `count`.
    /// - Throws: ``PipelineError/invalidValue(key:value:reason:)`` when `count < 1` or `index` is
    ///   not in `0..<count`.
    public init(index: Int, count: Int, source: String = "--shard") throws {
        guard count >= 1 else {
            throw PipelineError.invalidValue(key: source, value: "\(index)/\(count)", reason: "needs at least 1 shard")
        }
        guard Self.countRange.contains(count) else {
            throw PipelineError.invalidValue(key: source, value: "\(index)/\(count)", reason: "has more than \(Self.countRange.upperBound) shards; use fewer")
        }
        guard (0..<count).contains(index) else {
            throw PipelineError.invalidValue(key: source, value: "\(index)/\(count)", reason: "has a shard index outside 0..\(count - 1); shards count from 0")
        }
        self.index = index
        self.count = count
    }

    /// Parses `K/N` (e.g. `0/3`).
    /// - Throws: ``PipelineError/invalidValue(key:value:reason:)`` naming `--shard`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let count = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw PipelineError.invalidValue(key: "--shard", value: text, reason: "must be K/N, shard K (from 0) of N, e.g. 0/3")
        }
        try self.init(index: index, count: count)
    }

    /// `K/N`.
    public var description: String { "\(index)/\(count)" }

    /// `shard-K-of-N`, for file names (lock, reports).
    public var fileSuffix: String { "shard-\(index)-of-\(count)" }

    /// The shard (0..<count) a scene key belongs to.
    public static func bucket(of key: String, count: Int) -> Int {
        let digest = SHA256Hex.hex(of: Array(key.utf8))
        let value = UInt64(digest.prefix(16), radix: 16) ?? 0
        return Int(value % UInt64(max(1, count)))
    }

    /// True when the scene with this key belongs to this shard.
    public func contains(sceneKey: String) -> Bool {
        Self.bucket(of: sceneKey, count: count) == index
    }

    /// The shard to run, from the command line or the scheduler's environment, and where it came
    /// from (for the log). In order of precedence:
    ///
    /// 1. `explicit` (`--shard K/N`); `0/1` turns detection off.
    /// 2. Kubernetes Indexed Job: `JOB_COMPLETION_INDEX`; Kubernetes does not export the
    ///    completion count, so it comes from `count` (`--shard-count`) or `LANDCOVER_SHARD_COUNT`.
    /// 3. Slurm job array: `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_MIN` (arrays may start at 1 or
    ///    any number), `SLURM_ARRAY_TASK_STEP` and `SLURM_ARRAY_TASK_COUNT` (or `count`):
    ///    index = (ID - MIN) / STEP.
    /// 4. AWS Batch array job: `AWS_BATCH_JOB_ARRAY_INDEX`, size from `count` or
    ///    `LANDCOVER_SHARD_COUNT` (AWS Batch does not export it either).
    ///
    /// - Returns: nil when nothing asks for sharding (the whole batch runs).
    /// - Throws: ``PipelineError/invalidValue(key:value:reason:)`` naming the option or variable
    ///   that is malformed, or the missing count.
    public static func detect(explicit: String?, count: Int?, environment: [String: String]) throws -> (shard: Shard, source: String)? {
        if let explicit {
            return (try Shard(parsing: explicit), "--shard \(explicit)")
        }
        func integer(_ name: String) throws -> Int? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            guard let value = Int(text) else {
                throw PipelineError.invalidValue(key: name, value: text, reason: "must be a whole number")
            }
            return value
        }
        func shardCount(for variable: String) throws -> Int {
            if let count { return count }
            if let fromEnvironment = try integer("LANDCOVER_SHARD_COUNT") { return fromEnvironment }
            throw PipelineError.invalidValue(key: variable, value: environment[variable] ?? "", reason: "is set but the number of shards is unknown (the scheduler does not export it); pass --shard-count N or set LANDCOVER_SHARD_COUNT, or pass --shard K/N")
        }
        if let index = try integer("JOB_COMPLETION_INDEX") {
            let total = try shardCount(for: "JOB_COMPLETION_INDEX")
            return (try Shard(index: index, count: total, source: "JOB_COMPLETION_INDEX"), "Kubernetes Indexed Job (JOB_COMPLETION_INDEX=\(index), \(total) completions)")
        }
        if let id = try integer("SLURM_ARRAY_TASK_ID") {
            let minimum = try integer("SLURM_ARRAY_TASK_MIN") ?? 0
            let step = max(1, try integer("SLURM_ARRAY_TASK_STEP") ?? 1)
            guard let total = try count ?? integer("SLURM_ARRAY_TASK_COUNT") ?? integer("LANDCOVER_SHARD_COUNT") else {
                throw PipelineError.invalidValue(key: "SLURM_ARRAY_TASK_ID", value: "\(id)", reason: "is set without SLURM_ARRAY_TASK_COUNT; pass --shard-count N or --shard K/N")
            }
            let offset = id - minimum
            guard offset >= 0, offset % step == 0, offset / step < total else {
                throw PipelineError.invalidValue(key: "SLURM_ARRAY_TASK_ID", value: "\(id)", reason: "does not map onto 0..\(total - 1) with SLURM_ARRAY_TASK_MIN=\(minimum) and step \(step) (an array such as --array=1,5,9 is not contiguous); use --array=0-\(total - 1) or pass --shard K/N")
            }
            return (try Shard(index: offset / step, count: total, source: "SLURM_ARRAY_TASK_ID"), "Slurm job array (SLURM_ARRAY_TASK_ID=\(id), min \(minimum), step \(step), \(total) tasks)")
        }
        if let index = try integer("AWS_BATCH_JOB_ARRAY_INDEX") {
            let total = try shardCount(for: "AWS_BATCH_JOB_ARRAY_INDEX")
            return (try Shard(index: index, count: total, source: "AWS_BATCH_JOB_ARRAY_INDEX"), "AWS Batch array job (AWS_BATCH_JOB_ARRAY_INDEX=\(index), size \(total))")
        }
        if let count {
            throw PipelineError.invalidValue(key: "--shard-count", value: "\(count)", reason: "needs a shard index: --shard K/N, or JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or AWS_BATCH_JOB_ARRAY_INDEX in the environment")
        }
        return nil
    }
}
