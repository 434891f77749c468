/// A node whose operator needs input values that are not known when the model is loaded
/// (a Conv whose weights are a graph input, a BatchNormalization whose statistics are computed):
/// the real operator is built each time a plan is made, from the values the plan knows, so
/// what is constant for a given input signature is folded once per plan. An input that is
/// still unknown then fails with the operator's own ``ONNXError/dataDependentValue(node:detail:)``.
struct DeferredOperator: GraphOperator {
    let node: ONNXNode
    let opset: Int

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        var constants = [String: PlanValue]()
        for (position, name) in node.inputs.enumerated() where !name.isEmpty && position < inputs.count {
            if let value = inputs[position], value.isConstant { constants[name] = value }
        }
        return try OperatorFactory.makeOperator(node: node, opset: opset, constants: constants).plan(inputs)
    }
}
