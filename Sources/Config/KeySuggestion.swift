/// "Did you mean ...?" for configuration keys: the allowed key closest to a misspelt one.
/// Used by `StrictYAMLMap`, the strict YAML reader of pipeline files and training files.
public enum KeySuggestion {
    /// The allowed key closest to `name` by edit distance (compared in lower case), when it is
    /// close enough to be a typo (at most 2 edits, or a third of the name's length); ties go to
    /// the alphabetically first key.
    public static func closest(_ name: String, in allowed: Set<String>) -> String? {
        var best: (key: String, distance: Int)?
        for candidate in allowed.sorted() {
            let distance = editDistance(name.lowercased(), candidate)
            if let current = best, current.distance <= distance { continue }
            best = (candidate, distance)
        }
        guard let best, best.distance <= max(2, name.count / 3) else { return nil }
        return best.key
    }

    /// Levenshtein distance (insertions, deletions and substitutions of characters).
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
