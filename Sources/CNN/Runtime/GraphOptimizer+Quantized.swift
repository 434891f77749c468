/// QDQ graphs (onnxruntime's `quantize_static(..., quant_format=QDQ)`, landcover's own quantizer):
/// element types of QuantizeLinear outputs, and the fusion of DequantizeLinear -> Conv ->
/// QuantizeLinear chains onto the int8 kernels (``QuantizedConvOperator``), with activations kept
/// as packed u8 between fused layers.
extension GraphOptimizer {
    /// Writes each QuantizeLinear node's output element type (from its zero point's type, or
    /// `output_dtype`, default UINT8) as an attribute its operator reads. Runs before folding.
    mutating func annotateQuantizedTypes() {
        var constantTypes = elementTypes
        for node in nodes where node.operatorType == "Constant" {
            if let output = node.outputs.first, case .tensor(let tensor)? = node.attribute("value")?.value {
                constantTypes[output] = tensor.dataType
            }
        }
        for index in nodes.indices where nodes[index].operatorType == "QuantizeLinear" && nodes[index].domain.isEmpty {
            let node = nodes[index]
            var type = Int64(ONNXTensor.DataType.uint8.rawValue)
            if node.inputs.count > 2, !node.inputs[2].isEmpty, let zeroType = constantTypes[node.inputs[2]] {
                type = Int64(zeroType)
            } else if case .int(let declared)? = node.attribute("output_dtype")?.value {
                type = declared
            }
            nodes[index].attributes.removeAll { $0.name == QuantizedRange.attributeName }
            nodes[index].attributes.append(ONNXAttribute(name: QuantizedRange.attributeName, value: .int(type)))
        }
    }

    /// A value `DequantizeLinear(QuantizeLinear(source))` with per-tensor parameters.
    struct QuantizedValue {
        let quantize: Int
        let dequantize: Int
        let source: String
        let parameters: QuantizationParameters
    }

    /// One fused convolution chain.
    struct QuantizedGroup {
        let conv: Int
        var absorbed: [Int]
        let input: String
        let inputParameters: QuantizationParameters
        let output: QuantizationParameters
        let relu: Bool
        var residual: (value: String, parameters: QuantizationParameters, sum: QuantizationParameters, relu: Bool)?
        var final: String
        var maxPool = false
        let weights: String
        let scales: String
        let bias: String
        let outputChannels: Int
    }

    private func scalar(_ name: String) -> Float? {
        guard let values = constants[name]?.constantFloats, values.count == 1 else { return nil }
        return values[0]
    }

    /// The 8-bit range of a QuantizeLinear node's output (the int8 kernels take no other).
    private func quantizationRange(_ node: ONNXNode) -> QuantizedRange? {
        guard case .int(let type)? = node.attribute(QuantizedRange.attributeName)?.value,
              let range = QuantizedRange.of(dataType: Int32(clamping: type)), range.isEightBit else { return nil }
        return range
    }

    /// Per-tensor parameters of a QuantizeLinear or DequantizeLinear node, in the byte domain.
    private func perTensor(_ node: ONNXNode, range: QuantizedRange) -> QuantizationParameters? {
        guard node.inputs.count >= 2, let scale = scalar(node.inputs[1]), scale.isFinite, scale > 0 else { return nil }
        var zero: Float = 0
        if node.inputs.count > 2, !node.inputs[2].isEmpty {
            guard let z = scalar(node.inputs[2]) else { return nil }
            zero = z
        }
        guard zero >= range.low, zero <= range.high, zero == zero.rounded() else { return nil }
        return QuantizationParameters(scale: scale, onnxZero: Int(zero), signed: range.signed)
    }

    private func quantizedValue(_ name: String, producer: [String: Int]) -> QuantizedValue? {
        guard let d = producer[name], nodes[d].operatorType == "DequantizeLinear", nodes[d].domain.isEmpty,
              let first = nodes[d].inputs.first, let q = producer[first], nodes[q].operatorType == "QuantizeLinear",
              nodes[q].domain.isEmpty, let range = quantizationRange(nodes[q]),
              let quantizeParameters = perTensor(nodes[q], range: range),
              let dequantizeParameters = perTensor(nodes[d], range: range), quantizeParameters == dequantizeParameters,
              let source = nodes[q].inputs.first, !source.isEmpty else { return nil }
        return QuantizedValue(quantize: q, dequantize: d, source: source, parameters: quantizeParameters)
    }

    /// The single consumer of `name`, if it has exactly one and is not a graph output.
    private func single(_ name: String, _ consumers: [String: [Int]]) -> Int? {
        guard !graphOutputs.contains(name), let users = consumers[name], users.count == 1 else { return nil }
        return users[0]
    }

    /// Follows `value -> [Relu] -> QuantizeLinear -> DequantizeLinear`; returns the relu flag,
    /// the absorbed nodes and the dequantized value.
    private func requantization(after value: String, _ consumers: [String: [Int]], _ producer: [String: Int])
        -> (relu: Bool, nodes: [Int], value: QuantizedValue, name: String)? {
        guard var next = single(value, consumers) else { return nil }
        var absorbed = [Int]()
        var relu = false
        if nodes[next].operatorType == "Relu", nodes[next].domain.isEmpty, let output = nodes[next].outputs.first {
            relu = true
            absorbed.append(next)
            guard let after = single(output, consumers) else { return nil }
            next = after
        }
        guard nodes[next].operatorType == "QuantizeLinear", nodes[next].domain.isEmpty,
              let quantized = nodes[next].outputs.first, let d = single(quantized, consumers),
              let name = nodes[d].outputs.first, !name.isEmpty,
              let value = quantizedValue(name, producer: producer), value.quantize == next else { return nil }
        absorbed += [next, d]
        return (relu, absorbed, value, name)
    }

    /// The int8 weights behind `name` (DequantizeLinear of an INT8 initializer with symmetric
    /// per-output-channel or per-tensor scales): weight and scale names, output channels.
    private func int8Weights(_ name: String, producer: [String: Int]) -> (weights: String, scales: String, channels: Int)? {
        guard let d = producer[name], nodes[d].operatorType == "DequantizeLinear", nodes[d].domain.isEmpty,
              nodes[d].inputs.count >= 2, elementTypes[nodes[d].inputs[0]] == ONNXTensor.DataType.int8.rawValue,
              let w = constants[nodes[d].inputs[0]], w.shape.count == 4, w.ints != nil,
              let scales = constants[nodes[d].inputs[1]]?.constantFloats else { return nil }
        if nodes[d].inputs.count > 2, !nodes[d].inputs[2].isEmpty {
            guard let zeros = constants[nodes[d].inputs[2]]?.constantFloats, zeros.allSatisfy({ $0 == 0 }) else { return nil }
        }
        if scales.count != 1 {
            guard scales.count == w.shape[0], (try? NodeAttributes(nodes[d]).int("axis", default: 1)) == 0 else { return nil }
        }
        return (nodes[d].inputs[0], nodes[d].inputs[1], w.shape[0])
    }

    /// Finds the Conv chains to fuse.
    private func quantizedGroups(_ consumers: [String: [Int]], _ producer: [String: Int]) -> [QuantizedGroup] {
        var groups = [QuantizedGroup]()
        var claimed = Set<Int>()
        for (index, node) in nodes.enumerated() where node.operatorType == "Conv" && node.domain.isEmpty {
            let attributes = NodeAttributes(node)
            guard node.inputs.count >= 2, let output = node.outputs.first, !output.isEmpty,
                  (try? attributes.int("group", default: 1)) == 1,
                  ["NOTSET", "VALID"].contains((try? attributes.string("auto_pad", default: "NOTSET")) ?? ""),
                  let input = quantizedValue(node.inputs[0], producer: producer),
                  let weights = int8Weights(node.inputs[1], producer: producer) else { continue }
            let bias = node.inputs.count > 2 ? node.inputs[2] : ""
            if !bias.isEmpty {
                // The bias must become a constant when folding: an initializer or a DequantizeLinear of constants.
                let foldable = constants[bias] != nil || producer[bias].map { nodes[$0].operatorType == "DequantizeLinear"
                    && nodes[$0].inputs.allSatisfy { $0.isEmpty || constants[$0] != nil } } == true
                guard foldable else { continue }
            }
            guard let chain = requantization(after: output, consumers, producer),
                  Set(chain.nodes).isDisjoint(with: claimed) else { continue }
            var group = QuantizedGroup(conv: index, absorbed: [index] + chain.nodes, input: node.inputs[0],
                                       inputParameters: input.parameters, output: chain.value.parameters, relu: chain.relu,
                                       residual: nil, final: chain.name, weights: weights.weights, scales: weights.scales,
                                       bias: bias, outputChannels: weights.channels)
            // A following Add of another quantized value, requantized.
            if let add = single(chain.name, consumers), nodes[add].operatorType == "Add", nodes[add].domain.isEmpty,
               nodes[add].inputs.count == 2, !claimed.contains(add), let sum = nodes[add].outputs.first, !sum.isEmpty {
                let other = nodes[add].inputs[0] == chain.name ? nodes[add].inputs[1] : nodes[add].inputs[0]
                if other != chain.name, let residual = quantizedValue(other, producer: producer),
                   let after = requantization(after: sum, consumers, producer), Set(after.nodes).isDisjoint(with: claimed) {
                    group.residual = (other, residual.parameters, after.value.parameters, after.relu)
                    group.absorbed += [add] + after.nodes
                    group.final = after.name
                }
            }
            claimed.formUnion(group.absorbed)
            groups.append(group)
        }
        return groups
    }

    /// Rewrites QDQ Conv chains into `QConv` nodes on packed u8 activations (see
    /// ``QuantizedOperators``). Runs before constant folding, so the weights are still int8.
    mutating func fuseQuantizedConvolutions() {
        var consumers = [String: [Int]]()
        var producer = [String: Int]()
        for (index, node) in nodes.enumerated() {
            for input in node.inputs where !input.isEmpty { consumers[input, default: []].append(index) }
            for output in node.outputs where !output.isEmpty { producer[output] = index }
        }
        var groups = quantizedGroups(consumers, producer)
        guard !groups.isEmpty else { return }
        // Packed uses: group inputs and residuals.
        var packedUsers = [String: Set<Int>]()
        for group in groups {
            packedUsers[group.input, default: []].insert(group.conv)
            if let residual = group.residual, let add = group.absorbed.first(where: { nodes[$0].operatorType == "Add" }) {
                packedUsers[residual.value, default: []].insert(add)
            }
        }
        // Max pools between quantized values with the same parameters, whose result only groups read.
        struct Pool { let node: Int; let quantize: Int; let dequantize: Int; let input: String; let output: String }
        var pools = [Pool]()
        for (index, node) in nodes.enumerated() where node.operatorType == "MaxPool" && node.domain.isEmpty && node.inputs.count == 1 {
            let attributes = NodeAttributes(node)
            guard !node.outputs.dropFirst().contains(where: { !$0.isEmpty }), let pooled = node.outputs.first,
                  (try? attributes.ints("kernel_shape"))??.count == 2,
                  ((try? attributes.ints("dilations")) ?? nil).map({ $0.allSatisfy { $0 == 1 } }) ?? true,
                  (try? attributes.int("ceil_mode", default: 0)) == 0,
                  (try? attributes.string("auto_pad", default: "NOTSET")) == "NOTSET",
                  let input = quantizedValue(node.inputs[0], producer: producer),
                  let chain = requantization(after: pooled, consumers, producer), !chain.relu,
                  chain.value.parameters == input.parameters,
                  let users = consumers[chain.name], !graphOutputs.contains(chain.name),
                  users.allSatisfy({ packedUsers[chain.name]?.contains($0) == true }) else { continue }
            pools.append(Pool(node: index, quantize: chain.nodes[0], dequantize: chain.nodes[1], input: node.inputs[0],
                              output: chain.name))
            packedUsers[node.inputs[0], default: []].insert(index)
        }
        // A 2x2/2 unpadded pool that alone reads a group's result is fused into the group's epilogue.
        for index in groups.indices where groups[index].residual == nil {
            guard let user = single(groups[index].final, consumers),
                  let poolIndex = pools.firstIndex(where: { $0.node == user }) else { continue }
            let attributes = NodeAttributes(nodes[user])
            guard (try? attributes.ints("kernel_shape")) == [2, 2], (try? attributes.ints("strides")) == [2, 2],
                  ((try? attributes.ints("pads")) ?? nil).map({ $0.allSatisfy { $0 == 0 } }) ?? true else { continue }
            let pool = pools.remove(at: poolIndex)
            packedUsers[groups[index].final] = nil
            groups[index].absorbed += [pool.node, pool.quantize, pool.dequantize]
            groups[index].final = pool.output
            groups[index].maxPool = true
        }
        func packed(_ name: String) -> String { "\(name)#landcover.packed" }
        let groupByFinal = Dictionary(groups.map { ($0.final, $0) }, uniquingKeysWith: { first, _ in first })
        let poolByOutput = Dictionary(pools.map { ($0.output, $0) }, uniquingKeysWith: { first, _ in first })
        var removed = Set<Int>()
        var emitAt = [Int: [ONNXNode]]()
        for group in groups {
            removed.formUnion(group.absorbed)
            let users = packedUsers[group.final] ?? []
            let floatUsers = (consumers[group.final] ?? []).filter { !users.contains($0) }
            let isPacked = !users.isEmpty
            var attributes = nodes[group.conv].attributes.filter { ["strides", "pads", "dilations"].contains($0.name) }
            if (try? NodeAttributes(nodes[group.conv]).string("auto_pad", default: "NOTSET")) == "VALID" {
                attributes.removeAll { $0.name == "pads" }
            }
            func float(_ name: String, _ value: Float) { attributes.append(ONNXAttribute(name: name, value: .float(value))) }
            func int(_ name: String, _ value: Int) { attributes.append(ONNXAttribute(name: name, value: .int(Int64(value)))) }
            float("in_scale", group.inputParameters.scale); int("in_zero", group.inputParameters.zero)
            float("out_scale", group.output.scale); int("out_zero", group.output.zero)
            int("relu", group.relu ? 1 : 0)
            var inputs = [packed(group.input), group.weights, group.scales, group.bias]
            if let residual = group.residual {
                float("res_scale", residual.parameters.scale); int("res_zero", residual.parameters.zero)
                float("sum_scale", residual.sum.scale); int("sum_zero", residual.sum.zero)
                int("relu_after_add", residual.relu ? 1 : 0)
                inputs.append(packed(residual.value))
            }
            int("output_float", isPacked ? 0 : 1)
            if group.maxPool { int("max_pool", 1) }
            let last = group.absorbed.max() ?? group.conv
            let name = nodes[group.conv].name.isEmpty ? group.final : nodes[group.conv].name
            emitAt[last, default: []].append(ONNXNode(operatorType: "QConv", inputs: inputs,
                                                      outputs: [isPacked ? packed(group.final) : group.final], name: name,
                                                      domain: OperatorFactory.internalDomain, attributes: attributes))
            if isPacked && (!floatUsers.isEmpty || graphOutputs.contains(group.final)) {
                let finalParameters = group.residual?.sum ?? group.output
                emitAt[last, default: []].append(ONNXNode(
                    operatorType: "QUnpack", inputs: [packed(group.final)], outputs: [group.final], name: name + ".unpack",
                    domain: OperatorFactory.internalDomain,
                    attributes: [ONNXAttribute(name: "scale", value: .float(finalParameters.scale)),
                                 ONNXAttribute(name: "zero", value: .int(Int64(finalParameters.zero))),
                                 ONNXAttribute(name: "channels", value: .int(Int64(group.outputChannels)))]))
            }
        }
        for pool in pools {
            removed.formUnion([pool.node, pool.quantize, pool.dequantize])
            let attributes = nodes[pool.node].attributes.filter { ["kernel_shape", "strides", "pads"].contains($0.name) }
            emitAt[pool.dequantize, default: []].append(ONNXNode(
                operatorType: "QMaxPool", inputs: [packed(pool.input)], outputs: [packed(pool.output)],
                name: nodes[pool.node].name, domain: OperatorFactory.internalDomain, attributes: attributes))
        }
        // Packed values that no group or pool produces: quantize and pack their float source.
        for name in packedUsers.keys.sorted() where groupByFinal[name] == nil && poolByOutput[name] == nil {
            guard let value = quantizedValue(name, producer: producer) else { continue }
            emitAt[value.dequantize, default: []].append(ONNXNode(
                operatorType: "QuantizePack", inputs: [value.source], outputs: [packed(name)], name: name + ".pack",
                domain: OperatorFactory.internalDomain,
                attributes: [ONNXAttribute(name: "scale", value: .float(value.parameters.scale)),
                             ONNXAttribute(name: "zero", value: .int(Int64(value.parameters.zero)))]))
        }
        var rewritten = [ONNXNode]()
        for (index, node) in nodes.enumerated() {
            if !removed.contains(index) { rewritten.append(node) }
            rewritten += emitAt[index] ?? []
        }
        nodes = rewritten
    }
}
