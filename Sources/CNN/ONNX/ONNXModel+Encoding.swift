import Foundation

extension ONNXModel {
    /// Serializes the model as a `ModelProto` (the bytes of a `.onnx` file).
    ///
    /// Tensors keep the storage they have (``ONNXTensor/init(name:dimensions:floats:)`` uses
    /// `raw_data`); repeated scalars are packed; graph inputs/outputs keep `dim_param` names, so
    /// a dynamic batch dimension survives a round trip.
    public func serializedData() -> Data {
        var writer = ProtobufWriter()
        writer.writeInt64(field: 1, irVersion)
        writer.writeStringIfPresent(field: 2, producerName)
        writer.writeStringIfPresent(field: 3, producerVersion)
        writer.writeStringIfPresent(field: 4, domain)
        if modelVersion != 0 { writer.writeInt64(field: 5, modelVersion) }
        writer.writeStringIfPresent(field: 6, docString)
        writer.writeMessage(field: 7, graph.encoded())
        for opset in opsetImports {
            var sub = ProtobufWriter()
            sub.writeStringIfPresent(field: 1, opset.domain)
            sub.writeInt64(field: 2, opset.version)
            writer.writeMessage(field: 8, sub)
        }
        for entry in metadataProps {
            var sub = ProtobufWriter()
            sub.writeString(field: 1, entry.key)
            sub.writeString(field: 2, entry.value)
            writer.writeMessage(field: 14, sub)
        }
        return Data(writer.bytes)
    }

    /// Serializes the model and writes it to `url` atomically.
    public func write(to url: URL) throws {
        try serializedData().write(to: url, options: .atomic)
    }
}

extension ONNXGraph {
    func encoded() -> ProtobufWriter {
        var writer = ProtobufWriter()
        for node in nodes { writer.writeMessage(field: 1, node.encoded()) }
        writer.writeStringIfPresent(field: 2, name)
        for tensor in initializers { writer.writeMessage(field: 5, tensor.encoded()) }
        writer.writeStringIfPresent(field: 10, docString)
        for info in inputs { writer.writeMessage(field: 11, info.encoded()) }
        for info in outputs { writer.writeMessage(field: 12, info.encoded()) }
        for info in valueInfo { writer.writeMessage(field: 13, info.encoded()) }
        return writer
    }
}

extension ONNXNode {
    func encoded() -> ProtobufWriter {
        var writer = ProtobufWriter()
        for input in inputs { writer.writeString(field: 1, input) }
        for output in outputs { writer.writeString(field: 2, output) }
        writer.writeStringIfPresent(field: 3, name)
        writer.writeString(field: 4, operatorType)
        for attribute in attributes { writer.writeMessage(field: 5, attribute.encoded()) }
        writer.writeStringIfPresent(field: 7, domain)
        return writer
    }
}

extension ONNXAttribute {
    func encoded() -> ProtobufWriter {
        var writer = ProtobufWriter()
        writer.writeString(field: 1, name)
        let typeCode: Int64
        switch value {
        case .float(let value): writer.writeFloat(field: 2, value); typeCode = 1
        case .int(let value): writer.writeInt64(field: 3, value); typeCode = 2
        case .string(let value): writer.writeString(field: 4, value); typeCode = 3
        case .tensor(let tensor): writer.writeMessage(field: 5, tensor.encoded()); typeCode = 4
        case .floats(let values): writer.writePackedFloat(field: 7, values); typeCode = 6
        case .ints(let values): writer.writePackedInt64(field: 8, values); typeCode = 7
        case .strings(let values): for value in values { writer.writeString(field: 9, value) }; typeCode = 8
        case .unsupported(let code): typeCode = code
        }
        writer.writeInt64(field: 20, typeCode)
        return writer
    }
}

extension ONNXTensor {
    func encoded() -> ProtobufWriter {
        var writer = ProtobufWriter()
        writer.writePackedInt64(field: 1, dimensions)
        writer.writeInt64(field: 2, Int64(dataType))
        writer.writePackedFloat(field: 4, floatData)
        writer.writePackedInt64(field: 5, int32Data)
        writer.writePackedInt64(field: 7, int64Data)
        writer.writeStringIfPresent(field: 8, name)
        if !rawData.isEmpty { writer.writeBytes(field: 9, rawData) }
        if !doubleData.isEmpty {
            writer.writeKey(field: 10, wireType: .lengthDelimited)
            writer.writeVarint(UInt64(doubleData.count * 8))
            var raw = ProtobufWriter()
            for value in doubleData {
                var bits = value.bitPattern
                for _ in 0..<8 { raw.writeRawByte(UInt8(bits & 0xFF)); bits >>= 8 }
            }
            writer.appendRaw(raw.bytes)
        }
        for entry in externalData {
            var sub = ProtobufWriter()
            sub.writeString(field: 1, entry.key)
            sub.writeString(field: 2, entry.value)
            writer.writeMessage(field: 13, sub)
        }
        if usesExternalData { writer.writeInt64(field: 14, 1) }
        return writer
    }
}

extension ProtobufWriter {
    mutating func writeRawByte(_ byte: UInt8) { appendRaw([byte]) }
}

extension ONNXValueInfo {
    func encoded() -> ProtobufWriter {
        var writer = ProtobufWriter()
        writer.writeString(field: 1, name)
        var tensorType = ProtobufWriter()
        tensorType.writeInt64(field: 1, Int64(elementType))
        if let shape {
            var shapeWriter = ProtobufWriter()
            for dim in shape {
                var dimWriter = ProtobufWriter()
                switch dim {
                case .value(let value): dimWriter.writeInt64(field: 1, value)
                case .parameter(let name): dimWriter.writeString(field: 2, name)
                case .unknown: break
                }
                shapeWriter.writeMessage(field: 1, dimWriter)
            }
            tensorType.writeMessage(field: 2, shapeWriter)
        }
        var typeWriter = ProtobufWriter()
        typeWriter.writeMessage(field: 1, tensorType)
        writer.writeMessage(field: 2, typeWriter)
        return writer
    }
}
