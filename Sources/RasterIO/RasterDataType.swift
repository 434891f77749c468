import CGDAL

/// Pixel types landcover reads and writes (GDAL's names).
public enum RasterDataType: String, Sendable, Codable, CaseIterable {
    case byte = "Byte"
    case uint16 = "UInt16"
    case int16 = "Int16"
    case uint32 = "UInt32"
    case int32 = "Int32"
    case float32 = "Float32"
    case float64 = "Float64"

    init?(gdal type: GDALDataType) {
        switch type {
        case GDT_Byte: self = .byte
        case GDT_UInt16: self = .uint16
        case GDT_Int16: self = .int16
        case GDT_UInt32: self = .uint32
        case GDT_Int32: self = .int32
        case GDT_Float32: self = .float32
        case GDT_Float64: self = .float64
        default: return nil
        }
    }

    var gdalType: GDALDataType {
        switch self {
        case .byte: return GDT_Byte
        case .uint16: return GDT_UInt16
        case .int16: return GDT_Int16
        case .uint32: return GDT_UInt32
        case .int32: return GDT_Int32
        case .float32: return GDT_Float32
        case .float64: return GDT_Float64
        }
    }

    /// Bytes per pixel.
    public var byteSize: Int {
        switch self {
        case .byte: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .float64: return 8
        }
    }
}
