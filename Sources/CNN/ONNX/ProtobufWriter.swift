import Foundation

/// An append-only writer of the Protocol Buffers binary wire format.
///
/// Fields are written in the order the caller emits them; submessages are written into a
/// nested writer and then copied in with their length prefix. Repeated scalars are packed.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    mutating func writeVarint(_ value: UInt64) {
        var remaining = value
        while remaining >= 0x80 {
            bytes.append(UInt8(remaining & 0x7F) | 0x80)
            remaining >>= 7
        }
        bytes.append(UInt8(remaining))
    }

    mutating func writeKey(field: Int, wireType: ProtobufWireType) {
        writeVarint(UInt64(field) << 3 | UInt64(wireType.rawValue))
    }

    mutating func writeInt64(field: Int, _ value: Int64) {
        writeKey(field: field, wireType: .varint)
        writeVarint(UInt64(bitPattern: value))
    }

    mutating func writeFloat(field: Int, _ value: Float) {
        writeKey(field: field, wireType: .fixed32)
        appendFixed32(value.bitPattern)
    }

    mutating func writeBytes(field: Int, _ value: [UInt8]) {
        writeKey(field: field, wireType: .lengthDelimited)
        writeVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func writeString(field: Int, _ value: String) {
        writeBytes(field: field, Array(value.utf8))
    }

    /// Writes a string only when it is not empty (proto3 default omission).
    mutating func writeStringIfPresent(field: Int, _ value: String) {
        if !value.isEmpty { writeString(field: field, value) }
    }

    mutating func writeMessage(field: Int, _ message: ProtobufWriter) {
        writeBytes(field: field, message.bytes)
    }

    mutating func writePackedInt64(field: Int, _ values: [Int64]) {
        guard !values.isEmpty else { return }
        var packed = ProtobufWriter()
        for value in values { packed.writeVarint(UInt64(bitPattern: value)) }
        writeMessage(field: field, packed)
    }

    mutating func writePackedFloat(field: Int, _ values: [Float]) {
        guard !values.isEmpty else { return }
        writeKey(field: field, wireType: .lengthDelimited)
        writeVarint(UInt64(values.count * 4))
        bytes.reserveCapacity(bytes.count + values.count * 4)
        for value in values { appendFixed32(value.bitPattern) }
    }

    mutating func appendRaw(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }

    private mutating func appendFixed32(_ value: UInt32) {
        bytes.append(UInt8(value & 0xFF))
        bytes.append(UInt8((value >> 8) & 0xFF))
        bytes.append(UInt8((value >> 16) & 0xFF))
        bytes.append(UInt8(value >> 24))
    }
}
