/// How patches treat the right and bottom edges of a scene.
public enum EdgePolicy: String, Sendable, Codable, CaseIterable {
    /// The last patch of a row or column is shifted back so it ends exactly at the edge (full
    /// context, overlapping its neighbour). Scenes smaller than a patch are padded.
    case shift
    /// Patches stay on the stride grid; the last ones extend past the edge and the missing pixels
    /// are read as nodata (padding).
    case pad
}
