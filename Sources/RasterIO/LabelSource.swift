/// Class labels on a scene grid, read one window at a time.
///
/// Labels are class indices `0...254` in a `UInt8` per pixel; ``unlabelled`` (255) marks pixels
/// without a class (no polygon, an unmapped or nodata value in a label raster, outside the labels'
/// extent, or an overlap resolved to "unlabelled"). Windows are in pixels of ``grid`` (column, row
/// of the top-left pixel; see ``RasterWindow``) and may extend past the grid.
///
/// Implementations own GDAL handles and are not thread-safe: use one per thread.
public protocol LabelSource: AnyObject {
    /// The grid the labels are delivered on (normally a scene's grid).
    var grid: SceneGrid { get }
    /// What the labels come from, for reports and error messages (a path, plus layer and attribute).
    var sourceDescription: String { get }
    /// The labels of `window`, row-major: `labels[row * window.width + column]`.
    func labels(window: RasterWindow) throws -> [UInt8]
}

/// Label value constants shared by the label sources.
public enum LabelValue {
    /// The value of unlabelled pixels: 255. Class indices must be `0...254`.
    public static let unlabelled: UInt8 = 255
    /// The largest class index a label raster can carry.
    public static let maximumClass = 254
}
