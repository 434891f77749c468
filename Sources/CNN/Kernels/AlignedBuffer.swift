/// An immutable-after-construction, 64-byte-aligned Float buffer owned by a kernel (packed
/// weights, biases). It is written only while the owning kernel is initialised, then only read,
/// which is why sharing it across threads is safe.
final class AlignedBuffer: @unchecked Sendable {
    /// The first element.
    let pointer: UnsafeMutablePointer<Float>
    /// Number of floats.
    let count: Int

    /// Allocates `count` floats, all zero.
    init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Float>.stride,
                                                   alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(1, count))
        pointer.initialize(repeating: 0, count: max(1, count))
    }

    deinit {
        UnsafeMutableRawPointer(pointer).deallocate()
    }
}
