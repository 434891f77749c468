import Foundation

extension ONNXModel {
    /// Reads a `.onnx` file and the external data files its initializers refer to (see
    /// ``loadExternalData(directory:)``).
    /// - Throws: ``ONNXError/fileError(path:detail:)`` when the file cannot be read, decoding
    ///   and external data errors otherwise.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ONNXError.fileError(path: url.path, detail: "cannot read the model file (\(error.localizedDescription))")
        }
        try self.init(serializedData: data)
        try loadExternalData(directory: url.deletingLastPathComponent())
    }

    /// Largest external data file payload one tensor may take: 4 GiB (ONNX's own limit for one
    /// protobuf file is 2 GiB; larger models keep their weights outside, one tensor rarely
    /// exceeds a few hundred MiB).
    public static let maximumExternalTensorBytes = 1 << 32

    /// True when some initializer keeps its values in an external data file.
    public var hasExternalData: Bool { graph.initializers.contains { $0.usesExternalData } }

    /// Reads the values of initializers stored in external data files (the dynamo exporter's
    /// default `model.onnx.data`) into their `raw_data`, so the model no longer refers to any
    /// other file.
    ///
    /// Each tensor's `external_data` gives `location`, a path relative to `directory` (the folder
    /// of the `.onnx` file), and optionally `offset` and `length` in bytes. A location that is
    /// absolute, contains `..`, or resolves (through symbolic links) outside `directory` is
    /// refused, as is a range that is not inside the file or whose length does not match the
    /// tensor's dimensions and type; every size is checked before anything is allocated.
    /// - Parameter directory: the folder the model file is in.
    /// - Throws: ``ONNXError/unsupportedTensor(name:detail:)`` naming the tensor and the problem,
    ///   ``ONNXError/fileError(path:detail:)`` when a data file cannot be read.
    public mutating func loadExternalData(directory: URL) throws {
        guard hasExternalData else { return }
        let root = directory.standardizedFileURL.resolvingSymlinksInPath()
        var handles = [String: (handle: FileHandle, size: UInt64)]()
        defer { for entry in handles.values { try? entry.handle.close() } }
        for index in graph.initializers.indices where graph.initializers[index].usesExternalData {
            var tensor = graph.initializers[index]
            func refuse(_ detail: String) -> ONNXError { .unsupportedTensor(name: tensor.name, detail: detail) }
            var entries = [String: String]()
            for entry in tensor.externalData { entries[entry.key] = entry.value }
            guard let location = entries["location"], !location.isEmpty else {
                throw refuse("it is marked as external data but names no location")
            }
            let components = location.split(separator: "/", omittingEmptySubsequences: false)
            guard !location.hasPrefix("/"), !location.contains("\\"), !location.contains("\0"),
                  !components.contains(where: { $0 == ".." }) else {
                throw refuse("its external data location \"\(location)\" is not a path inside the model's folder; keep the data file beside the .onnx file and give its name")
            }
            let file = root.appendingPathComponent(location).standardizedFileURL.resolvingSymlinksInPath()
            guard file.path.hasPrefix(root.path.hasSuffix("/") ? root.path : root.path + "/") else {
                throw refuse("its external data file \"\(location)\" resolves outside the model's folder; keep the data file beside the .onnx file")
            }
            func number(_ key: String) throws -> UInt64? {
                guard let text = entries[key] else { return nil }
                guard let value = UInt64(text) else { throw refuse("external data \(key) \"\(text)\" is not a non-negative integer") }
                return value
            }
            let offset = try number("offset") ?? 0
            guard let width = tensor.rawByteWidth else {
                throw refuse("data type \(tensor.dataType) cannot be stored as external data")
            }
            let count = tensor.elementCount
            let (expected, overflow) = count.multipliedReportingOverflow(by: width)
            guard count != Int.max, !overflow, expected <= Self.maximumExternalTensorBytes else {
                throw refuse("its dims \(tensor.dimensions) need more than \(Self.maximumExternalTensorBytes >> 30) GiB")
            }
            let length = try number("length") ?? UInt64(expected)
            guard length == UInt64(expected) else {
                throw refuse("external data length \(length) bytes does not match its dims \(tensor.dimensions) (\(expected) bytes)")
            }
            if handles[file.path] == nil {
                var info = stat()
                guard stat(file.path, &info) == 0 else {
                    throw refuse("its external data file \"\(location)\" is missing; keep it beside the .onnx file")
                }
                guard (info.st_mode & S_IFMT) == S_IFREG else {
                    throw refuse("its external data file \"\(location)\" is not a regular file")
                }
                do { handles[file.path] = (try FileHandle(forReadingFrom: file), UInt64(info.st_size)) } catch {
                    throw ONNXError.fileError(path: file.path, detail: "cannot read the external data file (\(error.localizedDescription))")
                }
            }
            guard let (handle, size) = handles[file.path] else { continue }
            let (end, endOverflow) = offset.addingReportingOverflow(length)
            guard !endOverflow, end <= size else {
                throw refuse("external data bytes \(offset)..<\(endOverflow ? UInt64.max : end) are beyond the end of \"\(location)\" (\(size) bytes); the data file is truncated or belongs to another export")
            }
            let bytes: Data
            do {
                try handle.seek(toOffset: offset)
                bytes = try handle.read(upToCount: Int(length)) ?? Data()
            } catch {
                throw ONNXError.fileError(path: file.path, detail: "cannot read the external data file (\(error.localizedDescription))")
            }
            guard bytes.count == Int(length) else {
                throw refuse("\"\(location)\" ended after \(bytes.count) of \(length) bytes at offset \(offset)")
            }
            tensor.rawData = [UInt8](bytes)
            tensor.usesExternalData = false
            tensor.externalData = []
            graph.initializers[index] = tensor
        }
    }
}
