import Foundation

/// The accuracy of one class in an ``AccuracyReport``.
public struct ClassAccuracy: Codable, Sendable, Equatable {
    /// Class index (model output channel).
    public var index: Int
    /// Class name.
    public var name: String
    /// Samples of this class in the reference (row total).
    public var referenceCount: Int
    /// Samples predicted as this class (column total).
    public var predictedCount: Int
    /// Producer's accuracy (recall); nil when the class is absent from the reference.
    public var producerAccuracy: Double?
    /// User's accuracy (precision); nil when the class is never predicted.
    public var userAccuracy: Double?
    /// F1 score; nil when the class is absent from reference and prediction.
    public var f1: Double?
    /// Intersection over union; nil when the class is absent from reference and prediction.
    public var intersectionOverUnion: Double?

    /// Creates a class entry.
    public init(index: Int, name: String, referenceCount: Int, predictedCount: Int, producerAccuracy: Double?,
                userAccuracy: Double?, f1: Double?, intersectionOverUnion: Double?) {
        self.index = index
        self.name = name
        self.referenceCount = referenceCount
        self.predictedCount = predictedCount
        self.producerAccuracy = producerAccuracy
        self.userAccuracy = userAccuracy
        self.f1 = f1
        self.intersectionOverUnion = intersectionOverUnion
    }

    /// Encodes every key, undefined measures as `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encode(name, forKey: .name)
        try container.encode(referenceCount, forKey: .referenceCount)
        try container.encode(predictedCount, forKey: .predictedCount)
        try container.encode(producerAccuracy, forKey: .producerAccuracy)
        try container.encode(userAccuracy, forKey: .userAccuracy)
        try container.encode(f1, forKey: .f1)
        try container.encode(intersectionOverUnion, forKey: .intersectionOverUnion)
    }

    private enum CodingKeys: String, CodingKey {
        case index, name, referenceCount, predictedCount, producerAccuracy, userAccuracy, f1, intersectionOverUnion
    }
}

/// An accuracy assessment: the confusion matrix with class names, per-class measures and the
/// summary (overall accuracy, kappa, macro and micro averages).
///
/// Encodes to JSON with every key present (undefined measures as `null`); ``text`` renders it
/// for a terminal or a log:
///
/// ```
/// Confusion matrix (rows: reference, columns: predicted)
///               0     1 | total
///  0 Forest    65     4 |    69
///  1 Water      6    81 |    87
///    total     71    85 |   156
/// ```
public struct AccuracyReport: Codable, Sendable, Equatable {
    /// Class names in class-index order.
    public var classNames: [String]
    /// The counts (`matrix.rows[reference][predicted]`).
    public var matrix: ConfusionMatrix
    /// Samples counted.
    public var sampleCount: Int
    /// Overall accuracy; nil when no sample was counted.
    public var overallAccuracy: Double?
    /// Cohen's kappa; nil when undefined (see ``ConfusionMatrix/kappa``).
    public var kappa: Double?
    /// One entry per class.
    public var classes: [ClassAccuracy]
    /// Unweighted means over the classes present (see ``ConfusionMatrix/macroAverages``).
    public var macroAverages: MetricAverages
    /// Pooled measures (see ``ConfusionMatrix/microAverages``).
    public var microAverages: MetricAverages

    /// Computes the report of `matrix`.
    /// - Throws: ``MetricsError/classCountMismatch(expected:actual:)`` unless there is one name
    ///   per class.
    public init(matrix: ConfusionMatrix, classNames: [String]) throws {
        guard classNames.count == matrix.classCount else {
            throw MetricsError.classCountMismatch(expected: matrix.classCount, actual: classNames.count)
        }
        self.classNames = classNames
        self.matrix = matrix
        sampleCount = matrix.total
        overallAccuracy = matrix.overallAccuracy
        kappa = matrix.kappa
        let rows = matrix.referenceTotals, columns = matrix.predictedTotals
        let producer = matrix.producerAccuracies, user = matrix.userAccuracies
        let f1 = matrix.f1Scores, iou = matrix.intersectionOverUnion
        classes = classNames.indices.map { c in
            ClassAccuracy(index: c, name: classNames[c], referenceCount: rows[c], predictedCount: columns[c],
                          producerAccuracy: producer[c], userAccuracy: user[c], f1: f1[c], intersectionOverUnion: iou[c])
        }
        macroAverages = matrix.macroAverages
        microAverages = matrix.microAverages
    }

    /// Decodes a report from its class names and matrix; every derived value is recomputed, so
    /// a decoded report is always consistent.
    /// - Throws: `DecodingError.dataCorrupted` when the class names do not fit the matrix.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let names = try container.decode([String].self, forKey: .classNames)
        let matrix = try container.decode(ConfusionMatrix.self, forKey: .matrix)
        guard names.count == matrix.classCount else {
            throw DecodingError.dataCorruptedError(forKey: .classNames, in: container,
                                                   debugDescription: "\(names.count) class names for a matrix of \(matrix.classCount) classes")
        }
        try self.init(matrix: matrix, classNames: names)
    }

    /// Encodes every key, undefined measures as `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(classNames, forKey: .classNames)
        try container.encode(matrix, forKey: .matrix)
        try container.encode(sampleCount, forKey: .sampleCount)
        try container.encode(overallAccuracy, forKey: .overallAccuracy)
        try container.encode(kappa, forKey: .kappa)
        try container.encode(classes, forKey: .classes)
        try container.encode(macroAverages, forKey: .macroAverages)
        try container.encode(microAverages, forKey: .microAverages)
    }

    private enum CodingKeys: String, CodingKey {
        case classNames, matrix, sampleCount, overallAccuracy, kappa, classes, macroAverages, microAverages
    }

    /// The report as aligned plain text: the confusion matrix (columns numbered by class index,
    /// rows labelled with index and name), a per-class table and a summary. Undefined measures
    /// print as `n/a`.
    public var text: String {
        let n = matrix.classCount
        let indexWidth = Swift.max(2, String(n - 1).count)
        let labels = classNames.enumerated().map { pad(String($0.offset), indexWidth) + " " + $0.element }
        let totalLabel = String(repeating: " ", count: indexWidth + 1) + "total"
        let labelWidth = Swift.max(labels.map(\.count).max() ?? 0, totalLabel.count, "class".count)
        let countWidth = Swift.max(String(sampleCount).count, String(n - 1).count, 5)
        func label(_ text: String) -> String { text + String(repeating: " ", count: Swift.max(0, labelWidth - text.count)) }
        func cells(_ values: [Int]) -> String { values.map { " " + pad(String($0), countWidth) }.joined() }
        var lines: [String] = ["Confusion matrix (rows: reference, columns: predicted)"]
        lines.append(label("") + cells(Array(0..<n)) + " | " + pad("total", countWidth))
        let rows = matrix.rows, rowTotals = matrix.referenceTotals
        for r in 0..<n {
            lines.append(label(labels[r]) + cells(rows[r]) + " | " + pad(String(rowTotals[r]), countWidth))
        }
        lines.append(label(totalLabel) + cells(matrix.predictedTotals) + " | " + pad(String(sampleCount), countWidth))
        lines.append("")

        let columns = ["producer's", "user's", "F1", "IoU", "reference", "predicted"]
        lines.append(label("class") + columns.map { " " + pad($0, 10) }.joined())
        for entry in classes {
            let values = [entry.producerAccuracy, entry.userAccuracy, entry.f1, entry.intersectionOverUnion].map { " " + pad(format($0), 10) }
            lines.append(label(labels[entry.index]) + values.joined()
                         + " " + pad(String(entry.referenceCount), 10) + " " + pad(String(entry.predictedCount), 10))
        }
        lines.append("")
        lines.append("Overall accuracy \(format(overallAccuracy)), kappa \(format(kappa)), \(sampleCount) samples")
        lines.append("Macro average: precision \(format(macroAverages.precision)), recall \(format(macroAverages.recall)), "
                     + "F1 \(format(macroAverages.f1)), IoU \(format(macroAverages.intersectionOverUnion))")
        lines.append("Micro average: precision \(format(microAverages.precision)), recall \(format(microAverages.recall)), "
                     + "F1 \(format(microAverages.f1)), IoU \(format(microAverages.intersectionOverUnion))")
        return lines.joined(separator: "\n") + "\n"
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    private func format(_ value: Double?) -> String {
        guard let value else { return "n/a" }
        return String(format: "%.4f", value)
    }
}

extension AccuracyReport: CustomStringConvertible {
    /// The rendered ``text``.
    public var description: String { text }
}
