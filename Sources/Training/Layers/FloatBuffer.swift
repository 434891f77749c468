import Foundation

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

/// Growable scratch memory of one micro-batch (convolution scratch, im2col columns); used by
/// one thread at a time, kept by ``BufferPool`` between micro-batches.
final class ScratchSpace: @unchecked Sendable {
    private var buffers: [FloatBuffer] = []

    /// A scratch block of at least `count` floats; `slot` distinguishes blocks used at the same
    /// time. Contents are unspecified.
    func block(_ slot: Int, count: Int) -> UnsafeMutablePointer<Float> {
        while buffers.count <= slot { buffers.append(FloatBuffer(count: 0)) }
        if buffers[slot].count < count { buffers[slot] = FloatBuffer(count: count) }
        return buffers[slot].pointer
    }
}

/// Recycled ``FloatBuffer``s of one network, by exact size: training allocates the same
/// activation, gradient and parameter-gradient buffers every step, and reusing them avoids the
/// page faults and kernel zeroing of fresh large allocations. Thread-safe (a lock around the free
/// lists); a recycled buffer's contents are unspecified until it is zeroed or overwritten.
final class BufferPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Int: [FloatBuffer]] = [:]
    private var scratchSpaces: [ScratchSpace] = []

    /// A scratch space for one micro-batch (a recycled one when available).
    func takeScratch() -> ScratchSpace {
        lock.lock()
        defer { lock.unlock() }
        return scratchSpaces.popLast() ?? ScratchSpace()
    }

    /// Returns a scratch space for reuse.
    func recycle(_ scratch: ScratchSpace) {
        lock.lock()
        scratchSpaces.append(scratch)
        lock.unlock()
    }

    /// A buffer of exactly `count` floats, zeroed when `zeroed`.
    func take(_ count: Int, zeroed: Bool) -> FloatBuffer {
        lock.lock()
        let buffer = free[count]?.popLast()
        lock.unlock()
        guard let buffer else { return zeroed ? FloatBuffer(count: count) : FloatBuffer(uninitializedCount: count) }
        if zeroed { buffer.zero() }
        return buffer
    }

    /// Returns buffers for reuse.
    func recycle<S: Sequence>(_ buffers: S) where S.Element == FloatBuffer {
        lock.lock()
        for buffer in buffers { free[buffer.count, default: []].append(buffer) }
        lock.unlock()
    }
}
