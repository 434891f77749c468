import Foundation

/// Protocol Buffers wire types (the low three bits of a field key).
enum ProtobufWireType: UInt8, Sendable {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case startGroup = 3
    case endGroup = 4
    case fixed32 = 5
}

/// A forward-only reader of the Protocol Buffers binary wire format over a byte buffer.
///
/// It knows nothing about ONNX: it decodes field keys, varints, fixed-width scalars,
/// length-delimited payloads and packed repeated scalars. Every read is bounds-checked and
/// throws ``ONNXError/truncated(context:)`` or ``ONNXError/malformedProtobuf(context:detail:)``
/// instead of trapping.
struct ProtobufReader {
    private let bytes: [UInt8]
    private(set) var position: Int
    private let end: Int
    /// What is being decoded, for error messages (for example "GraphProto.node").
    let context: String

    init(bytes: [UInt8], context: String) {
        self.bytes = bytes
        self.position = 0
        self.end = bytes.count
        self.context = context
    }

    private init(bytes: [UInt8], start: Int, end: Int, context: String) {
        self.bytes = bytes
        self.position = start
        self.end = end
        self.context = context
    }

    /// True when every byte of this (sub)message has been consumed.
    var isAtEnd: Bool { position >= end }

    /// Reads the next field key; returns the field number and wire type.
    mutating func readFieldKey() throws -> (field: Int, wireType: ProtobufWireType) {
        let key = try readVarint()
        let field = Int(truncatingIfNeeded: key >> 3)
        guard field > 0, let wireType = ProtobufWireType(rawValue: UInt8(key & 7)) else {
            throw ONNXError.malformedProtobuf(context: context, detail: "invalid field key \(key) at byte \(position)")
        }
        return (field, wireType)
    }

    mutating func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw ONNXError.truncated(context: context) }
            let byte = bytes[position]
            position += 1
            if shift < 64 { result |= UInt64(byte & 0x7F) << shift }
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift >= 70 {
                throw ONNXError.malformedProtobuf(context: context, detail: "varint longer than 10 bytes")
            }
        }
    }

    mutating func readInt64() throws -> Int64 { Int64(bitPattern: try readVarint()) }

    mutating func readFixed32() throws -> UInt32 {
        guard end - position >= 4 else { throw ONNXError.truncated(context: context) }
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[position + index]) << (8 * UInt32(index)) }
        position += 4
        return value
    }

    mutating func readFixed64() throws -> UInt64 {
        guard end - position >= 8 else { throw ONNXError.truncated(context: context) }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[position + index]) << (8 * UInt64(index)) }
        position += 8
        return value
    }

    mutating func readFloat() throws -> Float { Float(bitPattern: try readFixed32()) }
    mutating func readDouble() throws -> Double { Double(bitPattern: try readFixed64()) }

    /// Reads a length prefix and returns a reader restricted to that many bytes.
    mutating func readSubmessage(context subContext: String) throws -> ProtobufReader {
        let length = try readLength()
        let sub = ProtobufReader(bytes: bytes, start: position, end: position + length, context: subContext)
        position += length
        return sub
    }

    mutating func readBytes() throws -> [UInt8] {
        let length = try readLength()
        let slice = Array(bytes[position..<(position + length)])
        position += length
        return slice
    }

    mutating func readString() throws -> String {
        String(decoding: try readBytes(), as: UTF8.self)
    }

    private mutating func readLength() throws -> Int {
        let raw = try readVarint()
        guard raw <= UInt64(Int.max), Int(raw) <= end - position else {
            throw ONNXError.truncated(context: context)
        }
        return Int(raw)
    }

    /// Reads one or more int64 values: a packed run (length-delimited) or a single varint.
    mutating func readRepeatedInt64(wireType: ProtobufWireType, into values: inout [Int64]) throws {
        if wireType == .lengthDelimited {
            var sub = try readSubmessage(context: context)
            while !sub.isAtEnd { values.append(try sub.readInt64()) }
        } else if wireType == .varint {
            values.append(try readInt64())
        } else {
            throw ONNXError.malformedProtobuf(context: context, detail: "int64 field with wire type \(wireType)")
        }
    }

    /// Reads one or more float values: a packed run or a single fixed32.
    mutating func readRepeatedFloat(wireType: ProtobufWireType, into values: inout [Float]) throws {
        if wireType == .lengthDelimited {
            let length = try readLength()
            guard length % 4 == 0 else {
                throw ONNXError.malformedProtobuf(context: context, detail: "packed float run of \(length) bytes")
            }
            values.reserveCapacity(values.count + length / 4)
            let stop = position + length
            while position < stop { values.append(try readFloat()) }
        } else if wireType == .fixed32 {
            values.append(try readFloat())
        } else {
            throw ONNXError.malformedProtobuf(context: context, detail: "float field with wire type \(wireType)")
        }
    }

    /// Reads one or more double values: a packed run or a single fixed64.
    mutating func readRepeatedDouble(wireType: ProtobufWireType, into values: inout [Double]) throws {
        if wireType == .lengthDelimited {
            var sub = try readSubmessage(context: context)
            while !sub.isAtEnd { values.append(try sub.readDouble()) }
        } else if wireType == .fixed64 {
            values.append(try readDouble())
        } else {
            throw ONNXError.malformedProtobuf(context: context, detail: "double field with wire type \(wireType)")
        }
    }

    /// Skips a field's payload of the given wire type.
    mutating func skipField(wireType: ProtobufWireType) throws {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed64: _ = try readFixed64()
        case .fixed32: _ = try readFixed32()
        case .lengthDelimited: position += try readLength()
        case .startGroup, .endGroup:
            throw ONNXError.malformedProtobuf(context: context, detail: "groups are not used by ONNX")
        }
    }

    /// Checks that a field has the wire type the schema requires.
    func expect(_ wireType: ProtobufWireType, _ expected: ProtobufWireType, field: String) throws {
        guard wireType == expected else {
            throw ONNXError.malformedProtobuf(
                context: context, detail: "field \(field) has wire type \(wireType), expected \(expected)")
        }
    }
}
