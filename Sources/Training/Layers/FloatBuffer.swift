/// A heap block of Floats with a stable address, owned by one micro-batch workspace (activations,
/// gradients, saved state). Not shared between threads while it is being written.
final class FloatBuffer: @unchecked Sendable {
    /// The first element (64-byte aligned).
    let pointer: UnsafeMutablePointer<Float>
    /// Number of floats.
    let count: Int

    /// Allocates `count` floats set to `value`.
    init(count: Int, value: Float = 0) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(1, count))
        pointer.initialize(repeating: value, count: max(1, count))
    }

    /// Allocates `count` floats without setting them, for outputs that are written completely
    /// before they are read (Float is a trivial type; the bytes are just unspecified).
    init(uninitializedCount count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(1, count))
    }

    /// Allocates a copy of `values`.
    convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    /// The contents as an array.
    var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// Sets every element to zero.
    func zero() { pointer.update(repeating: 0, count: count) }
}

/// Growable scratch memory of one micro-batch (convolution scratch, im2col columns).
final class ScratchSpace {
    private var buffers: [FloatBuffer] = []

    /// A scratch block of at least `count` floats; `slot` distinguishes blocks used at the same
    /// time. Contents are unspecified.
    func block(_ slot: Int, count: Int) -> UnsafeMutablePointer<Float> {
        while buffers.count <= slot { buffers.append(FloatBuffer(count: 0)) }
        if buffers[slot].count < count { buffers[slot] = FloatBuffer(count: count) }
        return buffers[slot].pointer
    }
}
