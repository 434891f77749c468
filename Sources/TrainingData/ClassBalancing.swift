import Training

/// Class-balanced sampling of the training split (validation and test keep their natural counts).
///
/// Per class with `n` samples: when `n > maxPerClass`, a seeded random subset of `maxPerClass`
/// samples is kept (cap); then, when the class has fewer samples than the oversampling target,
/// all of its samples are kept and further ones are drawn from them at random with replacement
/// until the target is reached (oversampling; the repeats share storage). Classes without samples
/// stay empty. The result is a list of sample indices in ascending order (repeats adjacent), the
/// same for the same seed on every platform.
public struct ClassBalancing: Sendable, Equatable, Codable {
    /// At most this many samples per class; nil = no cap.
    public var maxPerClass: Int?
    /// Oversample every class up to this many samples; nil = no fixed target.
    public var minPerClass: Int?
    /// Oversample every class up to the largest class's count after capping.
    public var oversampleToLargest: Bool
    /// Seed of the random choices.
    public var seed: UInt64

    /// Creates balancing options (all off by default).
    public init(maxPerClass: Int? = nil, minPerClass: Int? = nil, oversampleToLargest: Bool = false, seed: UInt64 = 0) {
        self.maxPerClass = maxPerClass
        self.minPerClass = minPerClass
        self.oversampleToLargest = oversampleToLargest
        self.seed = seed
    }

    /// No balancing: every sample once.
    public static let none = ClassBalancing()

    /// - Throws: ``TrainingDataError/invalidOption(option:value:reason:)`` naming the bad option.
    public func validate() throws {
        if let maxPerClass, maxPerClass < 1 {
            throw TrainingDataError.invalidOption(option: "balance.max_per_class", value: "\(maxPerClass)", reason: "must be at least 1")
        }
        if let minPerClass, minPerClass < 0 {
            throw TrainingDataError.invalidOption(option: "balance.min_per_class", value: "\(minPerClass)", reason: "must not be negative")
        }
        if let maxPerClass, let minPerClass, minPerClass > maxPerClass {
            throw TrainingDataError.invalidOption(option: "balance.min_per_class", value: "\(minPerClass)",
                                                  reason: "is larger than balance.max_per_class (\(maxPerClass)); a class cannot be both capped and raised past the cap")
        }
    }

    /// Applies the balancing to samples with the given labels.
    ///
    /// - Parameters:
    ///   - indices: sample indices to balance (e.g. the training split's).
    ///   - label: the class of a sample index.
    /// - Returns: balanced sample indices, ascending.
    public func apply(to indices: [Int], label: (Int) -> Int) -> [Int] {
        var perClass: [Int: [Int]] = [:]
        for i in indices { perClass[label(i), default: []].append(i) }
        var generator = SeededGenerator(seed: seed)
        var capped: [Int: [Int]] = [:]
        for c in perClass.keys.sorted() {
            guard var members = perClass[c] else { continue }
            members.sort()
            if let maxPerClass, members.count > maxPerClass {
                Self.shuffle(&members, using: &generator)
                members = Array(members.prefix(maxPerClass)).sorted()
            }
            capped[c] = members
        }
        var target = minPerClass ?? 0
        if oversampleToLargest { target = max(target, capped.values.map(\.count).max() ?? 0) }
        var result: [Int] = []
        for c in capped.keys.sorted() {
            guard let members = capped[c], !members.isEmpty else { continue }
            var chosen = members
            while chosen.count < target {
                chosen.append(members[Self.uniform(members.count, using: &generator)])
            }
            result += chosen
        }
        return result.sorted()
    }

    /// Fisher-Yates with ``uniform(_:using:)``: the same permutation for the same seed everywhere.
    static func shuffle(_ values: inout [Int], using generator: inout SeededGenerator) {
        guard values.count > 1 else { return }
        for i in stride(from: values.count - 1, to: 0, by: -1) {
            values.swapAt(i, uniform(i + 1, using: &generator))
        }
    }

    /// A uniform integer in `0..<n` (rejection sampling, no modulo bias).
    static func uniform(_ n: Int, using generator: inout SeededGenerator) -> Int {
        let bound = UInt64(n)
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let r = generator.next()
            if r < limit { return Int(r % bound) }
        }
    }
}
