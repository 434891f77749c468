/// Immutable Float storage shared by all sessions (weights fed to runtime kernels).
final class ConstantBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ values: [Float]) {
        count = values.count
        pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(values.count, 1))
        pointer.initialize(repeating: 0, count: max(values.count, 1))
        pointer.update(from: values, count: values.count)
    }

    deinit { pointer.deallocate() }
}
