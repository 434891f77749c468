/// Counts of (reference class, predicted class) pairs, the basis of every accuracy measure.
///
/// Rows are reference (target, ground-truth) classes and columns predicted classes, as in
/// scikit-learn's `confusion_matrix`; remote-sensing texts (Congalton) often print the transpose.
/// Producer's accuracy (recall) divides the diagonal by the row total, user's accuracy
/// (precision) by the column total. Matrices from disjoint parts of a data set
/// ``merge(_:)`` into the matrix of the whole.
public struct ConfusionMatrix: Codable, Sendable, Equatable {
    /// Number of classes (rows and columns).
    public let classCount: Int
    /// Row-major counts: `counts[reference * classCount + predicted]`.
    public private(set) var counts: [Int]

    /// An empty matrix.
    /// - Throws: ``MetricsError/invalidClassCount(_:)`` when `classCount < 1`.
    public init(classCount: Int) throws {
        guard classCount >= 1 else { throw MetricsError.invalidClassCount(classCount) }
        self.classCount = classCount
        self.counts = [Int](repeating: 0, count: classCount * classCount)
    }

    /// A matrix from rows of counts (`rows[reference][predicted]`).
    /// - Throws: ``MetricsError`` when the rows are not square or a count is negative.
    public init(rows: [[Int]]) throws {
        try self.init(classCount: rows.count)
        for (reference, row) in rows.enumerated() {
            guard row.count == classCount else { throw MetricsError.classCountMismatch(expected: classCount, actual: row.count) }
            for (predicted, count) in row.enumerated() { try add(reference: reference, predicted: predicted, count: count) }
        }
    }

    /// Decodes a matrix, checking its shape and counts.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let classCount = try container.decode(Int.self, forKey: .classCount)
        let counts = try container.decode([Int].self, forKey: .counts)
        guard classCount >= 1, counts.count == classCount * classCount, counts.allSatisfy({ $0 >= 0 }) else {
            throw DecodingError.dataCorruptedError(forKey: .counts, in: container,
                                                   debugDescription: "counts must hold classCount² non-negative values")
        }
        self.classCount = classCount
        self.counts = counts
    }

    private enum CodingKeys: String, CodingKey { case classCount, counts }

    /// The count of samples of reference class `reference` predicted as `predicted`.
    public subscript(reference: Int, predicted: Int) -> Int {
        counts[reference * classCount + predicted]
    }

    /// Rows as nested arrays (`rows[reference][predicted]`).
    public var rows: [[Int]] {
        (0..<classCount).map { Array(counts[($0 * classCount)..<(($0 + 1) * classCount)]) }
    }

    /// Adds `count` samples of reference class `reference` predicted as `predicted`.
    /// - Throws: ``MetricsError`` for a class outside `0..<classCount` or a negative count.
    public mutating func add(reference: Int, predicted: Int, count: Int = 1) throws {
        guard (0..<classCount).contains(reference) else {
            throw MetricsError.classOutOfRange(role: "target", value: reference, classCount: classCount)
        }
        guard (0..<classCount).contains(predicted) else {
            throw MetricsError.classOutOfRange(role: "prediction", value: predicted, classCount: classCount)
        }
        guard count >= 0 else { throw MetricsError.negativeCount(count) }
        counts[reference * classCount + predicted] += count
    }

    /// Adds element-wise pairs of predictions and targets, skipping pairs whose target is
    /// `ignoreIndex` (unlabelled or nodata pixels). Nothing is added when it throws.
    /// - Throws: ``MetricsError/countMismatch(predictions:targets:)`` or
    ///   ``MetricsError/classOutOfRange(role:value:classCount:)``.
    public mutating func add(predictions: [Int32], targets: [Int32], ignoreIndex: Int32? = nil) throws {
        guard predictions.count == targets.count else {
            throw MetricsError.countMismatch(predictions: predictions.count, targets: targets.count)
        }
        for (prediction, target) in zip(predictions, targets) where target != ignoreIndex {
            guard target >= 0, Int(target) < classCount else {
                throw MetricsError.classOutOfRange(role: "target", value: Int(target), classCount: classCount)
            }
            guard prediction >= 0, Int(prediction) < classCount else {
                throw MetricsError.classOutOfRange(role: "prediction", value: Int(prediction), classCount: classCount)
            }
        }
        for (prediction, target) in zip(predictions, targets) where target != ignoreIndex {
            counts[Int(target) * classCount + Int(prediction)] += 1
        }
    }

    /// Adds another matrix's counts (for example one per worker or per scene).
    /// - Throws: ``MetricsError/classCountMismatch(expected:actual:)``.
    public mutating func merge(_ other: ConfusionMatrix) throws {
        guard other.classCount == classCount else {
            throw MetricsError.classCountMismatch(expected: classCount, actual: other.classCount)
        }
        for i in counts.indices { counts[i] += other.counts[i] }
    }

    /// Number of samples counted.
    public var total: Int { counts.reduce(0, +) }
    /// Number of correctly classified samples (the trace).
    public var correct: Int { (0..<classCount).reduce(0) { $0 + self[$1, $1] } }
    /// Samples per reference class (row sums).
    public var referenceTotals: [Int] { (0..<classCount).map { r in (0..<classCount).reduce(0) { $0 + self[r, $1] } } }
    /// Samples per predicted class (column sums).
    public var predictedTotals: [Int] { (0..<classCount).map { p in (0..<classCount).reduce(0) { $0 + self[$1, p] } } }
}
