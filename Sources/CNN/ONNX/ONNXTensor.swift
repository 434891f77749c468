import Foundation

/// An ONNX `TensorProto`: a named constant tensor (initializer, Constant value, attribute).
///
/// Data may be stored in `raw_data` (little-endian bytes) or in the typed repeated fields
/// `float_data` / `int64_data` / `int32_data` / `double_data`; ``floatValues()`` and
/// ``int64Values()`` decode whichever is present. A tensor whose payload lives in another file
/// (``usesExternalData``, `external_data` entries) is read by
/// ``ONNXModel/loadExternalData(directory:)`` before its values are used.
public struct ONNXTensor: Sendable, Equatable {
    /// ONNX `TensorProto.DataType` codes the engine knows about.
    public enum DataType: Int32, Sendable {
        case undefined = 0, float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6,
             int64 = 7, string = 8, bool = 9, float16 = 10, double = 11, uint32 = 12, uint64 = 13, bfloat16 = 16
    }

    /// `name` (field 8).
    public var name: String
    /// `dims` (field 1), outermost first.
    public var dimensions: [Int64]
    /// `data_type` (field 2) as a raw code (see ``DataType``).
    public var dataType: Int32
    /// `float_data` (field 4).
    public var floatData: [Float]
    /// `int32_data` (field 5); also carries bool/int8/uint8/int16/uint16 values.
    public var int32Data: [Int64]
    /// `int64_data` (field 7).
    public var int64Data: [Int64]
    /// `double_data` (field 10).
    public var doubleData: [Double]
    /// `raw_data` (field 9): little-endian packed values.
    public var rawData: [UInt8]
    /// True when `data_location` (field 14) is EXTERNAL: the payload lives in another file.
    public var usesExternalData: Bool
    /// `external_data` (field 13): `location` (a path relative to the model's folder), `offset`
    /// and `length` in bytes, optionally `checksum`; empty unless ``usesExternalData``.
    public var externalData: [ONNXMetadataEntry] = []

    /// Creates a FLOAT tensor stored as `raw_data`.
    public init(name: String, dimensions: [Int], floats: [Float]) {
        self.name = name
        self.dimensions = dimensions.map(Int64.init)
        self.dataType = DataType.float.rawValue
        self.floatData = []
        self.int32Data = []
        self.int64Data = []
        self.doubleData = []
        var raw = [UInt8]()
        raw.reserveCapacity(floats.count * 4)
        for value in floats {
            let bits = value.bitPattern
            raw.append(UInt8(bits & 0xFF)); raw.append(UInt8((bits >> 8) & 0xFF))
            raw.append(UInt8((bits >> 16) & 0xFF)); raw.append(UInt8(bits >> 24))
        }
        self.rawData = raw
        self.usesExternalData = false
    }

    /// Creates an INT64 tensor stored in `int64_data`.
    public init(name: String, dimensions: [Int], int64s: [Int64]) {
        self.name = name
        self.dimensions = dimensions.map(Int64.init)
        self.dataType = DataType.int64.rawValue
        self.floatData = []
        self.int32Data = []
        self.int64Data = int64s
        self.doubleData = []
        self.rawData = []
        self.usesExternalData = false
    }

    /// An empty tensor of the given type; used by the decoder before fields arrive.
    init(name: String, dataType: Int32) {
        self.name = name
        self.dimensions = []
        self.dataType = dataType
        self.floatData = []
        self.int32Data = []
        self.int64Data = []
        self.doubleData = []
        self.rawData = []
        self.usesExternalData = false
    }

    /// Frees the values (raw and typed), keeping name, dimensions and type.
    mutating func dropPayload() {
        floatData = []
        int32Data = []
        int64Data = []
        doubleData = []
        rawData = []
    }

    /// Number of elements implied by ``dimensions`` (1 for a scalar).
    /// Saturates at `Int.max` for absurd dimensions (decoding then fails on the size check).
    public var elementCount: Int {
        var count = 1
        for dim in dimensions {
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(max(dim, 0)))
            if overflow { return Int.max }
            count = product
        }
        return count
    }

    /// True for the data types the engine treats as integer shape data.
    var isInteger: Bool {
        switch DataType(rawValue: dataType) {
        case .int64, .int32, .int16, .int8, .uint8, .uint16, .uint32, .uint64, .bool: return true
        default: return false
        }
    }

    /// The values converted to Float32.
    /// - Throws: ``ONNXError/unsupportedTensor(name:detail:)`` for external data, unknown
    ///   types, or a payload whose size does not match ``dimensions``.
    public func floatValues() throws -> [Float] {
        if usesExternalData { throw externalDataNotLoaded }
        let count = elementCount
        let values: [Float]
        switch DataType(rawValue: dataType) {
        case .float:
            if !rawData.isEmpty {
                values = try decodeRaw(byteWidth: 4) { bytes, offset in
                    Float(bitPattern: UInt32(truncatingIfNeeded: Self.load(bytes, offset, 4)))
                }
            } else { values = floatData }
        case .double:
            if !rawData.isEmpty {
                values = try decodeRaw(byteWidth: 8) { bytes, offset in
                    Float(Double(bitPattern: Self.load(bytes, offset, 8)))
                }
            } else { values = doubleData.map(Float.init) }
        case .float16:
            if !rawData.isEmpty {
                values = try decodeRaw(byteWidth: 2) { bytes, offset in
                    Float(Float16(bitPattern: UInt16(Self.load(bytes, offset, 2))))
                }
            } else { values = int32Data.map { Float(Float16(bitPattern: UInt16(truncatingIfNeeded: $0))) } }
        case .bfloat16:
            // bfloat16 is the upper half of a float32's bits.
            if !rawData.isEmpty {
                values = try decodeRaw(byteWidth: 2) { bytes, offset in Float(bitPattern: UInt32(Self.load(bytes, offset, 2)) << 16) }
            } else { values = int32Data.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0 & 0xFFFF) << 16) } }
        default:
            values = try int64Values().map { Float($0) }
        }
        guard values.count == count else {
            throw ONNXError.unsupportedTensor(name: name, detail: "holds \(values.count) values but its dims \(dimensions) need \(count)")
        }
        return values
    }

    /// The values converted to Int64 (integer types and bool; floats are truncated).
    public func int64Values() throws -> [Int64] {
        if usesExternalData { throw externalDataNotLoaded }
        let values: [Int64]
        switch DataType(rawValue: dataType) {
        case .int64:
            values = rawData.isEmpty ? int64Data : try decodeRaw(byteWidth: 8) { Int64(bitPattern: Self.load($0, $1, 8)) }
        case .uint64:
            values = rawData.isEmpty ? int64Data : try decodeRaw(byteWidth: 8) { Int64(bitPattern: Self.load($0, $1, 8)) }
        case .int32:
            values = rawData.isEmpty ? int32Data : try decodeRaw(byteWidth: 4) { Int64(Int32(bitPattern: UInt32(Self.load($0, $1, 4)))) }
        case .uint32:
            values = rawData.isEmpty ? int64Data : try decodeRaw(byteWidth: 4) { Int64(Self.load($0, $1, 4)) }
        case .int16:
            values = rawData.isEmpty ? int32Data : try decodeRaw(byteWidth: 2) { Int64(Int16(bitPattern: UInt16(Self.load($0, $1, 2)))) }
        case .uint16:
            values = rawData.isEmpty ? int32Data : try decodeRaw(byteWidth: 2) { Int64(Self.load($0, $1, 2)) }
        case .int8:
            values = rawData.isEmpty ? int32Data : try decodeRaw(byteWidth: 1) { Int64(Int8(bitPattern: UInt8(Self.load($0, $1, 1)))) }
        case .uint8, .bool:
            values = rawData.isEmpty ? int32Data : try decodeRaw(byteWidth: 1) { Int64(Self.load($0, $1, 1)) }
        case .float, .double, .float16, .bfloat16:
            let floats = try floatValues()
            values = floats.map { Int64(saturating: $0) }
        default:
            throw ONNXError.unsupportedTensor(name: name, detail: "data type \(dataType) is not supported (use FLOAT or INT64)")
        }
        guard values.count == elementCount else {
            throw ONNXError.unsupportedTensor(name: name, detail: "holds \(values.count) values but its dims \(dimensions) need \(elementCount)")
        }
        return values
    }

    /// The error for values read before the external data file was: the model was decoded from
    /// bytes without the folder its data file lives in.
    private var externalDataNotLoaded: ONNXError {
        let location = externalData.last { $0.key == "location" }?.value ?? "(no location)"
        return .unsupportedTensor(name: name, detail: "its values are in the external data file \"\(location)\", which was not read; load the model from its .onnx file with the data file beside it")
    }

    /// Bytes per element of the types whose values can be stored as raw little-endian data.
    var rawByteWidth: Int? {
        switch DataType(rawValue: dataType) {
        case .float, .int32, .uint32: return 4
        case .double, .int64, .uint64: return 8
        case .float16, .bfloat16, .int16, .uint16: return 2
        case .int8, .uint8, .bool: return 1
        default: return nil
        }
    }

    private static func load(_ bytes: [UInt8], _ offset: Int, _ width: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<width { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        return value
    }

    private func decodeRaw<T>(byteWidth: Int, _ decode: ([UInt8], Int) -> T) throws -> [T] {
        guard rawData.count % byteWidth == 0 else {
            throw ONNXError.unsupportedTensor(name: name, detail: "raw_data has \(rawData.count) bytes, not a multiple of \(byteWidth)")
        }
        // Dims are checked against the bytes present before anything is decoded.
        guard rawData.count / byteWidth == elementCount else {
            throw ONNXError.unsupportedTensor(name: name, detail: "holds \(rawData.count / byteWidth) values but its dims \(dimensions) need \(elementCount)")
        }
        var values = [T]()
        values.reserveCapacity(rawData.count / byteWidth)
        var offset = 0
        while offset < rawData.count {
            values.append(decode(rawData, offset))
            offset += byteWidth
        }
        return values
    }
}
