import Config
import Foundation
import RasterIO

/// A first-in first-out queue between pipeline stages. `pop` blocks until an element arrives or
/// the queue is closed; closing wakes every waiter. Capacity is enforced by the caller's permits
/// (see ``Permits``), so `push` never blocks.
final class StageQueue<Element>: @unchecked Sendable {
    private var items: [Element?] = []
    private var head = 0
    private var closed = false
    private let condition = NSCondition()

    func push(_ item: Element) {
        condition.lock()
        items.append(item)
        condition.signal()
        condition.unlock()
    }

    /// The next element, or nil once the queue is closed and drained.
    func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while head == items.count && !closed { condition.wait() }
        guard head < items.count else { return nil }
        let item = items[head]
        items[head] = nil   // release the element now, not when the slot is compacted
        head += 1
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return item
    }

    /// No more elements will be pushed; waiters drain what is left and then get nil.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// A counting semaphore that can be cancelled: `acquire` returns false once cancelled, so a
/// producer blocked on backpressure stops when a later stage fails.
final class Permits: @unchecked Sendable {
    private var available: Int
    private var cancelled = false
    private let condition = NSCondition()

    init(_ count: Int) { available = count }

    func acquire() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while available == 0 && !cancelled { condition.wait() }
        guard !cancelled else { return false }
        available -= 1
        return true
    }

    func release() {
        condition.lock()
        available += 1
        condition.signal()
        condition.unlock()
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}

/// The first error any stage reports; later ones are dropped.
final class FirstError: @unchecked Sendable {
    private var error: (any Error)?
    private let lock = NSLock()

    func record(_ error: any Error) {
        lock.lock()
        if self.error == nil { self.error = error }
        lock.unlock()
    }

    var value: (any Error)? {
        lock.lock()
        defer { lock.unlock() }
        return error
    }
}

/// Recycled sample buffers: the reader takes one per unit and the worker that classified the unit
/// gives it back, so a run reuses a few multi-megabyte buffers instead of allocating one per unit
/// (which faults in fresh pages every time and fragments the heap over a long run). Every buffer
/// has room for the largest unit, so the smaller units at the scene's right and bottom edges reuse
/// the same storage rather than allocating their own.
final class SampleBufferPool: @unchecked Sendable {
    private var free: [SampleBuffer] = []
    private let lock = NSLock()
    private let largestPixels: Int
    private let limit: Int

    /// - Parameters:
    ///   - largestPixels: pixels per band of the largest window a buffer will hold.
    ///   - limit: most buffers kept for reuse.
    init(largestPixels: Int, limit: Int) {
        self.largestPixels = largestPixels
        self.limit = limit
    }

    /// A buffer of this size (contents undefined), recycled when one is available.
    func take(width: Int, height: Int, bandCount: Int) -> SampleBuffer {
        lock.lock()
        let index = free.firstIndex { $0.width == width && $0.height == height && $0.bandCount == bandCount } ?? free.indices.last
        let recycled = index.map { free.remove(at: $0) }
        lock.unlock()
        guard var buffer = recycled else {
            return SampleBuffer(width: width, height: height, bandCount: bandCount, capacityPixels: largestPixels)
        }
        buffer.resize(width: width, height: height, bandCount: bandCount)
        return buffer
    }

    /// Returns a buffer for reuse (at most `limit` are kept).
    func give(_ buffer: SampleBuffer) {
        lock.lock()
        defer { lock.unlock() }
        if free.count < limit { free.append(buffer) }
    }
}

/// A unit's pixels as read: UInt16 samples for Byte/UInt16 scenes, Float32 otherwise.
enum UnitPixels: Sendable {
    case samples(SampleBuffer)
    case floats(BandBuffer)
}

/// Thread-safe accumulation of stage times.
final class StageClock: @unchecked Sendable {
    private let lock = NSLock()
    private var storage = StageTimes()

    func add(read: UInt64 = 0, convert: UInt64 = 0, infer: UInt64 = 0, write: UInt64 = 0) {
        lock.lock()
        storage.read += Double(read) / 1e9
        storage.convert += Double(convert) / 1e9
        storage.infer += Double(infer) / 1e9
        storage.write += Double(write) / 1e9
        lock.unlock()
    }

    var times: StageTimes {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}
