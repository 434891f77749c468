/// A tensor of either element type the engine exchanges: Float32 data or Int64 indices/shapes.
public enum AnyTensor: Sendable, Equatable {
    /// Float32 data (images, logits, probabilities).
    case float32(Tensor)
    /// Int64 data (shapes, indices such as ArgMax outputs).
    case int64(Int64Tensor)

    /// The dimensions.
    public var shape: [Int] {
        switch self {
        case .float32(let tensor): return tensor.shape
        case .int64(let tensor): return tensor.shape
        }
    }

    /// The data converted to Float32 (Int64 values are rounded to the nearest Float).
    public var floatTensor: Tensor {
        switch self {
        case .float32(let tensor): return tensor
        case .int64(let tensor): return Tensor(uncheckedShape: tensor.shape, scalars: tensor.values.map { Float($0) })
        }
    }
}
