/// Averages of the per-class measures.
public struct MetricAverages: Codable, Sendable, Equatable {
    /// Precision (user's accuracy).
    public var precision: Double?
    /// Recall (producer's accuracy).
    public var recall: Double?
    /// F1 score.
    public var f1: Double?
    /// Intersection over union (Jaccard index).
    public var intersectionOverUnion: Double?

    /// Creates averages.
    public init(precision: Double?, recall: Double?, f1: Double?, intersectionOverUnion: Double?) {
        self.precision = precision
        self.recall = recall
        self.f1 = f1
        self.intersectionOverUnion = intersectionOverUnion
    }

    /// Encodes every key, undefined values as `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(precision, forKey: .precision)
        try container.encode(recall, forKey: .recall)
        try container.encode(f1, forKey: .f1)
        try container.encode(intersectionOverUnion, forKey: .intersectionOverUnion)
    }

    private enum CodingKeys: String, CodingKey { case precision, recall, f1, intersectionOverUnion }
}

/// Accuracy measures. A measure whose denominator is zero is undefined and returned as nil
/// (for example the user's accuracy of a class that is never predicted).
///
/// For class `c`: `TP` is the diagonal count, `FN` the rest of row `c` (reference `c` predicted
/// as something else), `FP` the rest of column `c`.
extension ConfusionMatrix {
    /// Correct samples over all samples; nil for an empty matrix.
    public var overallAccuracy: Double? {
        let n = total
        return n > 0 ? Double(correct) / Double(n) : nil
    }

    /// Cohen's kappa, `(p_o − p_e) / (1 − p_e)` with observed agreement `p_o` (overall accuracy)
    /// and chance agreement `p_e = Σ rowTotal_c · columnTotal_c / N²`; nil for an empty matrix or
    /// when `p_e = 1` (a single class in both reference and prediction).
    public var kappa: Double? {
        let n = Double(total)
        guard n > 0 else { return nil }
        let rows = referenceTotals, columns = predictedTotals
        var chance = 0.0
        for c in 0..<classCount { chance += Double(rows[c]) * Double(columns[c]) }
        chance /= n * n
        let observed = Double(correct) / n
        guard chance < 1 else { return nil }
        return (observed - chance) / (1 - chance)
    }

    /// Producer's accuracy (recall) per class, `TP / (TP + FN)`; nil for a class absent from the
    /// reference.
    public var producerAccuracies: [Double?] {
        zip(0..<classCount, referenceTotals).map { c, row in row > 0 ? Double(self[c, c]) / Double(row) : nil }
    }

    /// User's accuracy (precision) per class, `TP / (TP + FP)`; nil for a class never predicted.
    public var userAccuracies: [Double?] {
        zip(0..<classCount, predictedTotals).map { c, column in column > 0 ? Double(self[c, c]) / Double(column) : nil }
    }

    /// F1 score per class, `2·TP / (2·TP + FP + FN)`; nil for a class absent from both reference
    /// and prediction. A class present in one but never correct scores 0.
    public var f1Scores: [Double?] {
        let rows = referenceTotals, columns = predictedTotals
        return (0..<classCount).map { c in
            let denominator = rows[c] + columns[c]
            return denominator > 0 ? Double(2 * self[c, c]) / Double(denominator) : nil
        }
    }

    /// Intersection over union per class, `TP / (TP + FP + FN)`; nil for a class absent from
    /// both reference and prediction.
    public var intersectionOverUnion: [Double?] {
        let rows = referenceTotals, columns = predictedTotals
        return (0..<classCount).map { c in
            let union = rows[c] + columns[c] - self[c, c]
            return union > 0 ? Double(self[c, c]) / Double(union) : nil
        }
    }

    /// Unweighted means of the per-class measures over the classes present in the reference or
    /// the prediction; an undefined measure of a present class counts as 0 (scikit-learn's
    /// `zero_division=0`), classes absent from both are left out (a segmentation tile without
    /// water neither helps nor hurts). All nil when the matrix is empty.
    public var macroAverages: MetricAverages {
        let rows = referenceTotals, columns = predictedTotals
        let present = (0..<classCount).filter { rows[$0] + columns[$0] > 0 }
        guard !present.isEmpty else { return MetricAverages(precision: nil, recall: nil, f1: nil, intersectionOverUnion: nil) }
        func mean(_ values: [Double?]) -> Double {
            present.reduce(0.0) { $0 + (values[$1] ?? 0) } / Double(present.count)
        }
        return MetricAverages(precision: mean(userAccuracies), recall: mean(producerAccuracies),
                              f1: mean(f1Scores), intersectionOverUnion: mean(intersectionOverUnion))
    }

    /// Measures from the pooled counts of all classes. With one label per sample every error
    /// is one false positive and one false negative, so micro precision, recall and F1 all equal
    /// the overall accuracy and micro IoU is `ΣTP / (ΣTP + 2·errors)`. All nil when empty.
    public var microAverages: MetricAverages {
        let n = total, tp = correct
        guard n > 0 else { return MetricAverages(precision: nil, recall: nil, f1: nil, intersectionOverUnion: nil) }
        let accuracy = Double(tp) / Double(n)
        return MetricAverages(precision: accuracy, recall: accuracy, f1: accuracy,
                              intersectionOverUnion: Double(tp) / Double(tp + 2 * (n - tp)))
    }
}
