import Foundation
import RasterIO
import Training

/// `metrics.csv` of a training run: one row per finished epoch, rewritten whole (temporary file,
/// then rename) after every epoch, so that a spreadsheet, pandas or gnuplot can follow a run.
///
/// Columns (training/README.md): `epoch`, `training_loss`, `training_accuracy`,
/// `validation_loss`, `validation_accuracy` (overall accuracy), `validation_kappa`,
/// `validation_macro_f1`, `learning_rate`, `seconds` (wall-clock, validation included), `best`
/// (1 when the validation loss improved). A value that does not exist (no validation samples)
/// is an empty field. A resumed run keeps the rows of the epochs before the resume.
public struct TrainingMetricsFile: Sendable {
    /// The header line's fields.
    public static let columns = ["epoch", "training_loss", "training_accuracy", "validation_loss", "validation_accuracy",
                                 "validation_kappa", "validation_macro_f1", "learning_rate", "seconds", "best"]

    /// The file.
    public let path: String
    /// The data rows written so far (without the header), in epoch order.
    public private(set) var rows: [String] = []

    /// A metrics file at `path` starting empty, or, when `keepingEpochs` is above 0, with the
    /// rows of epochs 1...keepingEpochs already in the file (an unreadable or missing file keeps none).
    public init(path: String, keepingEpochs: Int = 0) {
        self.path = path
        guard keepingEpochs > 0, let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let lines = text.split(separator: "\n").map(String.init)
        guard lines.first == Self.columns.joined(separator: ",") else { return }
        rows = lines.dropFirst().filter { line in
            guard let epoch = line.split(separator: ",", omittingEmptySubsequences: false).first.flatMap({ Int($0) }) else { return false }
            return epoch >= 1 && epoch <= keepingEpochs
        }
    }

    /// The row of one epoch.
    public static func row(_ report: EpochReport) -> String {
        func number(_ value: Double?, _ format: String = "%.6f") -> String { value.map { String(format: format, $0) } ?? "" }
        let matrix = report.validationMatrix
        return [String(report.epoch), number(report.trainingLoss), number(report.trainingAccuracy), number(report.validationLoss),
                number(report.validationAccuracy), number(matrix?.kappa), number(matrix?.macroAverages.f1),
                number(report.learningRate, "%.6g"), number(report.seconds, "%.3f"), report.improved ? "1" : "0"]
            .joined(separator: ",")
    }

    /// Adds the row of `report` and rewrites the file.
    /// - Throws: `RasterIOError` when the file cannot be written.
    public mutating func append(_ report: EpochReport) throws {
        rows.append(Self.row(report))
        let text = ([Self.columns.joined(separator: ",")] + rows).joined(separator: "\n") + "\n"
        try AtomicFile.write(Data(text.utf8), to: path)
    }
}
