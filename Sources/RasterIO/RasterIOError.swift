/// Errors raised by the raster I/O module. Every case names the file (and band or key where one is
/// involved) and its description says how to fix the problem.
public enum RasterIOError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The path does not exist.
    case fileNotFound(path: String)
    /// GDAL could not open the file as a raster (not a raster, truncated, unsupported format).
    case notARaster(path: String, gdalMessage: String)
    /// A GDAL call failed; `operation` names what landcover was doing.
    case gdalFailure(operation: String, path: String, gdalMessage: String)
    /// A band requested by name or index is not in the file or scene.
    case bandNotFound(band: String, path: String, available: [String])
    /// A file whose bands carry no names (`gdalbuildvrt -separate`, `gdal_merge.py -separate`;
    /// a single band without a band name in its file name), so its bands cannot be matched by name.
    case unnamedBands(path: String, count: Int)
    /// Two sources that must share a coordinate reference system do not.
    case crsMismatch(path: String, expected: String, actual: String)
    /// A file has no georeferencing where georeferencing is required.
    case missingGeoreferencing(path: String)
    /// A band name occurs twice among the sources of a scene.
    case duplicateBand(band: String, paths: [String])
    /// A window or size argument is invalid.
    case invalidArgument(String)
    /// The requested grid resolution would make a scene grid larger than landcover handles
    /// (``Scene/maximumGridSide`` pixels a side); `detail` gives the sizes and the fix.
    case gridTooLarge(detail: String)
    /// A raster's pixel type is not one landcover reads.
    case unsupportedDataType(path: String, typeName: String)
    /// A write failed.
    case writeFailed(path: String, reason: String)
    /// A write failed because the file system holding `folder` is full (or the quota is used up).
    case noSpace(path: String, folder: String)
    /// A block of a raster cannot be read or decoded; `detail` names the block and the cause.
    case damagedFile(path: String, detail: String)
    /// GDAL/OGR could not open the file as a vector dataset (GeoPackage, GeoJSON, Shapefile, ...).
    case notAVectorDataset(path: String, gdalMessage: String)
    /// A vector dataset has no layer of that name (or no layer at all when `layer` is empty).
    case layerNotFound(path: String, layer: String, available: [String])
    /// A vector layer has no attribute (field) of that name.
    case attributeNotFound(path: String, layer: String, attribute: String, available: [String])
    /// A server (HTTP, object store) answered a request for `url` with an error status, or not at
    /// all (`status` 0: refused, unreachable or timed out); `detail` is GDAL's message.
    case remoteUnavailable(url: String, status: Int, detail: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): no such file or folder; check the path (globs are expanded only in pipeline files)"
        case .notARaster(let path, let message):
            let detail = message.isEmpty ? "" : " (GDAL: \(message))"
            return "\(path): not a readable raster\(detail); check that the file is complete and in a format GDAL reads (GeoTIFF, COG, VRT, JPEG2000, SAFE)"
        case .gdalFailure(let operation, let path, let message):
            return "\(path): \(operation) failed (GDAL: \(message.isEmpty ? "no message" : message)); "
                + "a damaged or truncated file must be replaced (`gdalinfo -checksum` reads every block), otherwise check free space and permissions"
        case .bandNotFound(let band, let path, let available):
            let list = available.isEmpty ? "none" : available.joined(separator: ", ")
            return "\(path): band \(band) not found (available: \(list)); add a file for it or map it with a band override"
        case .unnamedBands(let path, let count):
            let what = count == 1 ? "its band carries no name and its file name none (as in T33UUU_20170216T102101_B04.jp2)" : "its \(count) bands carry no names, so landcover cannot tell which is which (gdalbuildvrt -separate and gdal_merge.py -separate write none)"
            return "\(path): \(what); declare their order with --band-order (band_order in a pipeline file): \(SentinelBand.namedOrders.joined(separator: ", ")) or a list of \(count) band names in file order, or give a VRT whose bands have descriptions (B02, B03, ...)"
        case .crsMismatch(let path, let expected, let actual):
            return "\(path): CRS \(actual) differs from the scene's \(expected); reproject it first (gdalwarp -t_srs) so all bands share one CRS"
        case .missingGeoreferencing(let path):
            return "\(path): has no geotransform or CRS; landcover needs georeferenced input (set it with gdal_edit.py -a_srs/-a_ullr)"
        case .duplicateBand(let band, let paths):
            return "band \(band) is provided by more than one source (\(paths.joined(separator: ", "))); keep one, or name the bands explicitly"
        case .invalidArgument(let message):
            return message
        case .gridTooLarge(let detail):
            return detail
        case .unsupportedDataType(let path, let typeName):
            return "\(path): pixel type \(typeName) is not supported; convert it with gdal_translate -ot Float32"
        case .writeFailed(let path, let reason):
            return "\(path): write failed: \(reason); check free space and permissions of the output folder"
        case .noSpace(let path, let folder):
            return "\(path): no space left on \(folder); free space there (or write to a larger disk) and run again"
        case .damagedFile(let path, let detail):
            return "\(path): damaged or truncated; \(detail); replace the file (`gdalinfo -checksum` reads every block)"
        case .notAVectorDataset(let path, let message):
            let detail = message.isEmpty ? "" : " (GDAL: \(message))"
            return "\(path): not a readable vector dataset\(detail); give a GeoPackage, GeoJSON or Shapefile that ogrinfo can open"
        case .layerNotFound(let path, let layer, let available):
            let list = available.isEmpty ? "none" : available.joined(separator: ", ")
            let what = layer.isEmpty ? "has no vector layer" : "has no layer '\(layer)'"
            return "\(path): \(what) (layers: \(list)); name one of the listed layers (ogrinfo -so \(path) lists them)"
        case .attributeNotFound(let path, let layer, let attribute, let available):
            let list = available.isEmpty ? "none" : available.joined(separator: ", ")
            return "\(path): layer '\(layer)' has no attribute '\(attribute)' (attributes: \(list)); name the field that holds the class"
        case .remoteUnavailable(let url, let status, _):
            switch status {
            case 0:
                return "\(url): no HTTP response (connection refused, host unreachable or no answer within GDAL_HTTP_TIMEOUT); "
                    + "check the URL and the network, or raise GDAL_HTTP_TIMEOUT and GDAL_HTTP_MAX_RETRY"
            case 401, 403:
                return "\(url): HTTP \(status) (access denied); check the credentials GDAL uses (AWS_*, GS_*, AZURE_*, GDAL_HTTP_HEADERS) and the object's permissions"
            case 404, 410:
                return "\(url): HTTP \(status) (not found); check the URL"
            case 429, 500...599:
                return "\(url): HTTP \(status) (\(status == 429 ? "too many requests" : "server error")) after GDAL_HTTP_MAX_RETRY retries; "
                    + "run again later (the scene is retried), or raise GDAL_HTTP_MAX_RETRY and GDAL_HTTP_RETRY_DELAY"
            default:
                return "\(url): HTTP \(status); check the URL and the server"
            }
        }
    }
}
