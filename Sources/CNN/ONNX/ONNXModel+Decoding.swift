import Foundation

// The ONNX file format, as read here: a `.onnx` file is one protobuf `ModelProto` message.
// Protobuf wire format: each field is a varint key `(field_number << 3) | wire_type` followed by
// a varint (type 0), 8 bytes (1), a varint length and that many bytes (2: strings, bytes,
// submessages, packed repeated scalars) or 4 bytes (5). Unknown fields are skipped.
//
// Fields used (message.field = number):
//   ModelProto: ir_version=1, producer_name=2, producer_version=3, domain=4, model_version=5,
//     doc_string=6, graph=7, opset_import=8 (OperatorSetIdProto: domain=1, version=2),
//     metadata_props=14 (StringStringEntryProto: key=1, value=2)
//   GraphProto: node=1, name=2, initializer=5, doc_string=10, input=11, output=12, value_info=13
//   NodeProto: input=1, output=2, name=3, op_type=4, attribute=5, domain=7
//   AttributeProto: name=1, f=2 (fixed32), i=3, s=4, t=5, g=6 (skipped), floats=7, ints=8,
//     strings=9, type=20 (FLOAT=1, INT=2, STRING=3, TENSOR=4, FLOATS=6, INTS=7, STRINGS=8)
//   TensorProto: dims=1, data_type=2, float_data=4, int32_data=5, int64_data=7, name=8,
//     raw_data=9 (little-endian), double_data=10, uint64_data=11, data_location=14 (1=EXTERNAL)
//   ValueInfoProto: name=1, type=2 -> TypeProto.tensor_type=1 -> elem_type=1, shape=2 ->
//     TensorShapeProto.dim=1 -> dim_value=1 | dim_param=2
// Repeated scalars are accepted packed and unpacked; the writer packs them.

extension ONNXModel {
    /// Decodes a serialized `ModelProto` (the bytes of a `.onnx` file).
    ///
    /// - Throws: ``ONNXError/truncated(context:)`` when the bytes end inside a field,
    ///   ``ONNXError/notAModel(detail:)`` when the bytes are not an ONNX ModelProto (wrong magic,
    ///   no graph), ``ONNXError/malformedProtobuf(context:detail:)`` for invalid wire data.
    public init(serializedData data: Data) throws {
        try self.init(bytes: [UInt8](data))
    }

    /// Decodes a serialized `ModelProto` from bytes. See ``init(serializedData:)``.
    public init(bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { throw ONNXError.notAModel(detail: "the file is empty") }
        // A ModelProto starts with a field key for one of its fields; the common first fields
        // are ir_version (0x08) or other small field numbers. Anything else is the wrong magic.
        let first = bytes[0]
        let firstField = Int(first >> 3)
        let firstWire = first & 7
        guard first & 0x80 == 0, (1...25).contains(firstField), firstWire == 0 || firstWire == 2 else {
            throw ONNXError.notAModel(detail: String(format: "first byte 0x%02X is not a ModelProto field key (an ONNX file usually starts with 0x08)", first))
        }
        var reader = ProtobufReader(bytes: bytes, context: "ModelProto")
        var graph: ONNXGraph?
        var insideGraph = false
        var model = ONNXModel(graph: ONNXGraph(nodes: [], inputs: [], outputs: []), irVersion: 0, opsetImports: [], producerName: "")
        do {
            while !reader.isAtEnd {
                let (field, wire) = try reader.readFieldKey()
                switch field {
                case 1: try reader.expect(wire, .varint, field: "ir_version"); model.irVersion = try reader.readInt64()
                case 2: try reader.expect(wire, .lengthDelimited, field: "producer_name"); model.producerName = try reader.readString()
                case 3: try reader.expect(wire, .lengthDelimited, field: "producer_version"); model.producerVersion = try reader.readString()
                case 4: try reader.expect(wire, .lengthDelimited, field: "domain"); model.domain = try reader.readString()
                case 5: try reader.expect(wire, .varint, field: "model_version"); model.modelVersion = try reader.readInt64()
                case 6: try reader.expect(wire, .lengthDelimited, field: "doc_string"); model.docString = try reader.readString()
                case 7:
                    try reader.expect(wire, .lengthDelimited, field: "graph")
                    insideGraph = true
                    var sub = try reader.readSubmessage(context: "GraphProto")
                    graph = try ONNXGraph(reader: &sub)
                    insideGraph = false
                case 8:
                    try reader.expect(wire, .lengthDelimited, field: "opset_import")
                    var sub = try reader.readSubmessage(context: "OperatorSetIdProto")
                    model.opsetImports.append(try ONNXOperatorSetID(reader: &sub))
                case 14:
                    try reader.expect(wire, .lengthDelimited, field: "metadata_props")
                    var sub = try reader.readSubmessage(context: "StringStringEntryProto")
                    model.metadataProps.append(try ONNXMetadataEntry(reader: &sub))
                default: try reader.skipField(wireType: wire)
                }
            }
        } catch let error as ONNXError {
            // Garbage that happens to start like a field key fails outside the graph before any
            // graph was read; a real but cut-off model fails inside its (large) graph.
            if graph == nil && !insideGraph {
                throw ONNXError.notAModel(detail: "the bytes do not decode as a ModelProto (\(error.errorDescription ?? "invalid data"))")
            }
            throw error
        }
        guard let decodedGraph = graph else {
            throw ONNXError.notAModel(detail: "no graph field (ModelProto field 7) was found")
        }
        model.graph = decodedGraph
        self = model
    }
}

extension ONNXOperatorSetID {
    init(reader: inout ProtobufReader) throws {
        self.init(domain: "", version: 0)
        while !reader.isAtEnd {
            let (field, wire) = try reader.readFieldKey()
            switch field {
            case 1: try reader.expect(wire, .lengthDelimited, field: "domain"); domain = try reader.readString()
            case 2: try reader.expect(wire, .varint, field: "version"); version = try reader.readInt64()
            default: try reader.skipField(wireType: wire)
            }
        }
    }
}

extension ONNXMetadataEntry {
    init(reader: inout ProtobufReader) throws {
        self.init(key: "", value: "")
        while !reader.isAtEnd {
            let (field, wire) = try reader.readFieldKey()
            switch field {
            case 1: try reader.expect(wire, .lengthDelimited, field: "key"); key = try reader.readString()
            case 2: try reader.expect(wire, .lengthDelimited, field: "value"); value = try reader.readString()
            default: try reader.skipField(wireType: wire)
            }
        }
    }
}

extension ONNXGraph {
    init(reader: inout ProtobufReader) throws {
        self.init(name: "", nodes: [], inputs: [], outputs: [])
        while !reader.isAtEnd {
            let (field, wire) = try reader.readFieldKey()
            switch field {
            case 1:
                try reader.expect(wire, .lengthDelimited, field: "node")
                var sub = try reader.readSubmessage(context: "NodeProto #\(nodes.count)")
                nodes.append(try ONNXNode(reader: &sub))
            case 2: try reader.expect(wire, .lengthDelimited, field: "name"); name = try reader.readString()
            case 5:
                try reader.expect(wire, .lengthDelimited, field: "initializer")
                var sub = try reader.readSubmessage(context: "TensorProto (initializer #\(initializers.count))")
                initializers.append(try ONNXTensor(reader: &sub))
            case 10: try reader.expect(wire, .lengthDelimited, field: "doc_string"); docString = try reader.readString()
            case 11, 12, 13:
                try reader.expect(wire, .lengthDelimited, field: "input/output/value_info")
                var sub = try reader.readSubmessage(context: "ValueInfoProto")
                let info = try ONNXValueInfo(reader: &sub)
                if field == 11 { inputs.append(info) } else if field == 12 { outputs.append(info) } else { valueInfo.append(info) }
            default: try reader.skipField(wireType: wire)
            }
        }
    }
}

extension ONNXNode {
    init(reader: inout ProtobufReader) throws {
        self.init(operatorType: "", inputs: [], outputs: [])
        while !reader.isAtEnd {
            let (field, wire) = try reader.readFieldKey()
            switch field {
            case 1: try reader.expect(wire, .lengthDelimited, field: "input"); inputs.append(try reader.readString())
            case 2: try reader.expect(wire, .lengthDelimited, field: "output"); outputs.append(try reader.readString())
            case 3: try reader.expect(wire, .lengthDelimited, field: "name"); name = try reader.readString()
            case 4: try reader.expect(wire, .lengthDelimited, field: "op_type"); operatorType = try reader.readString()
            case 5:
                try reader.expect(wire, .lengthDelimited, field: "attribute")
                var sub = try reader.readSubmessage(context: "AttributeProto of \(name.isEmpty ? operatorType : name)")
                attributes.append(try ONNXAttribute(reader: &sub))
            case 7: try reader.expect(wire, .lengthDelimited, field: "domain"); domain = try reader.readString()
            default: try reader.skipField(wireType: wire)
            }
        }
    }
}

extension ONNXAttribute {
    init(reader: inout ProtobufReader) throws {
        var name = ""
        var typeCode: Int64 = 0
        var float: Float?
        var int: Int64?
        var string: [UInt8]?
        var tensor: ONNXTensor?
        var floats = [Float]()
        var ints = [Int64]()
        var strings = [String]()
        var hasGraph = false
        while !reader.isAtEnd {
            let (field, wire) = try reader.readFieldKey()
            switch field {
            case 1: try reader.expect(wire, .lengthDelimited, field: "name"); name = try reader.readString()
            case 2: try reader.expect(wire, .fixed32, field: "f"); float = try reader.readFloat()
            case 3: try reader.expect(wire, .varint, field: "i"); int = try reader.readInt64()
            case 4: try reader.expect(wire, .lengthDelimited, field: "s"); string = try reader.readBytes()
            case 5:
                try reader.expect(wire, .lengthDelimited, field: "t")
                var sub = try reader.readSubmessage(context: "TensorProto of attribute \(name)")
                tensor = try ONNXTensor(reader: &sub)
            case 6: hasGraph = true; try reader.skipField(wireType: wire)
            case 7: try reader.readRepeatedFloat(wireType: wire, into: &floats)
            case 8: try reader.readRepeatedInt64(wireType: wire, into: &ints)
            case 9: try reader.expect(wire, .lengthDelimited, field: "strings"); strings.append(try reader.readString())
            case 20: try reader.expect(wire, .varint, field: "type"); typeCode = try reader.readInt64()
            default: try reader.skipField(wireType: wire)
            }
        }
        let value: Value
        switch typeCode {
        case 1: value = .float(float ?? 0)
        case 2: value = .int(int ?? 0)
        case 3: value = .string(String(decoding: string ?? [], as: UTF8.self))
        case 4: value = .tensor(tensor ?? ONNXTensor(name: "", dataType: 1))
        case 6: value = .floats(floats)
        case 7: value = .ints(ints)
        case 8: value = .strings(strings)
        case 0:
            // Very old files omit `type`; infer it from the field that is set.
            if let float { value = .float(float) } else if let int { value = .int(int) }
            else if let string { value = .string(String(decoding: string, as: UTF8.self)) }
            else if let tensor { value = .tensor(tensor) } else if !floats.isEmpty { value = .floats(floats) }
            else if !ints.isEmpty { value = .ints(ints) } else if !strings.isEmpty { value = .strings(strings) }
            else { value = .unsupported(typeCode: hasGraph ? 5 : 0) }
        default: value = .unsupported(typeCode: typeCode)
        }
        self.init(name: name, value: value)
    }
}

extension ONNXTensor {
    init(reader: inout ProtobufReader) throws {
        self.init(name: "", dataType: 0)
        var doubles = [Double]()
        while !reader.isAtEnd {
            let (field, wire) = try reader.readFieldKey()
            switch field {
            case 1: try reader.readRepeatedInt64(wireType: wire, into: &dimensions)
            case 2: try reader.expect(wire, .varint, field: "data_type"); dataType = Int32(truncatingIfNeeded: try reader.readInt64())
            case 4: try reader.readRepeatedFloat(wireType: wire, into: &floatData)
            case 5: try reader.readRepeatedInt64(wireType: wire, into: &int32Data)
            case 7: try reader.readRepeatedInt64(wireType: wire, into: &int64Data)
            case 8: try reader.expect(wire, .lengthDelimited, field: "name"); name = try reader.readString()
            case 9: try reader.expect(wire, .lengthDelimited, field: "raw_data"); rawData = try reader.readBytes()
            case 10: try reader.readRepeatedDouble(wireType: wire, into: &doubles)
            case 11: try reader.readRepeatedInt64(wireType: wire, into: &int64Data)
            case 13:
                try reader.expect(wire, .lengthDelimited, field: "external_data")
                var entryReader = try reader.readSubmessage(context: "TensorProto.external_data of \(name)")
                externalData.append(try ONNXMetadataEntry(reader: &entryReader))
            case 14: try reader.expect(wire, .varint, field: "data_location"); usesExternalData = try reader.readInt64() == 1
            default: try reader.skipField(wireType: wire)
            }
        }
        doubleData = doubles
    }
}

extension ONNXValueInfo {
    init(reader: inout ProtobufReader) throws {
        self.init(name: "", elementType: 0, shape: nil)
        while !reader.isAtEnd {
            let (field, wire) = try reader.readFieldKey()
            switch field {
            case 1: try reader.expect(wire, .lengthDelimited, field: "name"); name = try reader.readString()
            case 2:
                try reader.expect(wire, .lengthDelimited, field: "type")
                var typeReader = try reader.readSubmessage(context: "TypeProto of \(name)")
                while !typeReader.isAtEnd {
                    let (typeField, typeWire) = try typeReader.readFieldKey()
                    guard typeField == 1, typeWire == .lengthDelimited else { try typeReader.skipField(wireType: typeWire); continue }
                    var tensorReader = try typeReader.readSubmessage(context: "TypeProto.Tensor of \(name)")
                    try decodeTensorType(&tensorReader)
                }
            default: try reader.skipField(wireType: wire)
            }
        }
    }

    private mutating func decodeTensorType(_ reader: inout ProtobufReader) throws {
        while !reader.isAtEnd {
            let (field, wire) = try reader.readFieldKey()
            switch field {
            case 1: try reader.expect(wire, .varint, field: "elem_type"); elementType = Int32(truncatingIfNeeded: try reader.readInt64())
            case 2:
                try reader.expect(wire, .lengthDelimited, field: "shape")
                var shapeReader = try reader.readSubmessage(context: "TensorShapeProto of \(name)")
                var dims = [Dimension]()
                while !shapeReader.isAtEnd {
                    let (shapeField, shapeWire) = try shapeReader.readFieldKey()
                    guard shapeField == 1, shapeWire == .lengthDelimited else { try shapeReader.skipField(wireType: shapeWire); continue }
                    var dimReader = try shapeReader.readSubmessage(context: "TensorShapeProto.Dimension of \(name)")
                    var dim = Dimension.unknown
                    while !dimReader.isAtEnd {
                        let (dimField, dimWire) = try dimReader.readFieldKey()
                        switch dimField {
                        case 1: try dimReader.expect(dimWire, .varint, field: "dim_value"); dim = .value(try dimReader.readInt64())
                        case 2: try dimReader.expect(dimWire, .lengthDelimited, field: "dim_param"); dim = .parameter(try dimReader.readString())
                        default: try dimReader.skipField(wireType: dimWire)
                        }
                    }
                    dims.append(dim)
                }
                shape = dims
            default: try reader.skipField(wireType: wire)
            }
        }
    }
}
