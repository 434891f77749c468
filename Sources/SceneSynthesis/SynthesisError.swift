/// Errors of the scene generator. Each names the option, class or file involved and says how to
/// fix it; raster I/O failures while writing surface as ``RasterIO/RasterIOError`` unchanged.
public enum SynthesisError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A generator option is out of range (`option` is its name, as in the CLI without `--`).
    case invalidOption(option: String, reason: String)
    /// A class definition is unusable.
    case invalidClass(name: String, reason: String)
    /// The CRS cannot carry a metre grid (not projected, or not in metres).
    case unsuitableCRS(definition: String, reason: String)
    /// The output folder cannot be used.
    case outputFolder(path: String, reason: String)

    /// One line: what is wrong, naming the option, class or path, and how to fix it.
    public var description: String {
        switch self {
        case .invalidOption(let option, let reason):
            return "--\(option): \(reason)"
        case .invalidClass(let name, let reason):
            return "class '\(name)': \(reason)"
        case .unsuitableCRS(let definition, let reason):
            return "--epsg: \(definition) \(reason); use a projected CRS in metres such as a UTM zone (EPSG:326zz north, 327zz south)"
        case .outputFolder(let path, let reason):
            return "\(path): \(reason); give a folder that exists or can be created, and is writable"
        }
    }
}
