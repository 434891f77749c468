/// Errors raised while building training data. Every case names the file, band, class or option
/// involved, and its description says how to fix the problem. GDAL/OGR failures arrive as
/// `RasterIOError`s from RasterIO and are passed through unchanged.
public enum TrainingDataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An option has a value that cannot work (`option` names it, e.g. `patch_size`).
    case invalidOption(option: String, value: String, reason: String)
    /// A patch file lacks a band the dataset needs.
    case missingBand(path: String, band: String, available: [String])
    /// A patch file's size differs from the dataset's patch size.
    case wrongPatchSize(path: String, width: Int, height: Int, expected: Int)
    /// A folder of class sub-folders holds no class or no patch.
    case emptyFolder(path: String, reason: String)
    /// A class sub-folder is not in the given class list.
    case unknownClass(path: String, className: String, known: [String])
    /// No patch satisfied the sampling rules (with the counts of why patches were rejected).
    case noSamples(source: String, reason: String)
    /// Sample indices passed to `batch(indices:)` are out of range.
    case sampleIndexOutOfRange(index: Int, count: Int)
    /// A patch file holds a band whose values cannot be read as numbers.
    case unreadablePatch(path: String, reason: String)
    /// A model cannot be evaluated: not an ONNX model, no landcover contract, no output.
    case unusableModel(path: String, problem: String, fix: String)
    /// Reference data of an evaluation does not fit the model or the scene (`file` is the
    /// training file, labels, scene or model at fault).
    case invalidReference(file: String, problem: String, fix: String)

    public var description: String {
        switch self {
        case .invalidOption(let option, let value, let reason):
            return "\(option) = \(value): \(reason)"
        case .missingBand(let path, let band, let available):
            let list = available.isEmpty ? "no named bands" : available.joined(separator: ", ")
            return "\(path): band \(band) not found (file has \(list)); give the band order of files without band names (e.g. eurosat) or drop \(band) from the band list"
        case .wrongPatchSize(let path, let width, let height, let expected):
            return "\(path): patch is \(width)x\(height) pixels, the dataset's patches are \(expected)x\(expected); remove the file or resize it (gdal_translate -outsize \(expected) \(expected))"
        case .emptyFolder(let path, let reason):
            return "\(path): \(reason); give a folder with one sub-folder of GeoTIFF patches per class"
        case .unknownClass(let path, let className, let known):
            return "\(path): class folder '\(className)' is not among the classes given (\(known.joined(separator: ", "))); add it to the class list or move the folder away"
        case .noSamples(let source, let reason):
            return "\(source): no training patch passed the sampling rules (\(reason)); lower the minimum labelled or valid fraction, or check that the labels overlap the scene"
        case .sampleIndexOutOfRange(let index, let count):
            return "sample index \(index) is out of range (the dataset has \(count) samples); pass indices 0..<\(count)"
        case .unreadablePatch(let path, let reason):
            return "\(path): \(reason); check the file with gdalinfo"
        case .unusableModel(let path, let problem, let fix), .invalidReference(let path, let problem, let fix):
            return "\(path): \(problem); \(fix)"
        }
    }
}
