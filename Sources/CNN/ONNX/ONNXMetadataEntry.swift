import Foundation

/// A `StringStringEntryProto` from `metadata_props`.
public struct ONNXMetadataEntry: Sendable, Equatable {
    /// `key` (field 1).
    public var key: String
    /// `value` (field 2).
    public var value: String
    /// Creates a metadata entry.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}
