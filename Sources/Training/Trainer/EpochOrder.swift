/// The random choices of one epoch, all derived from one 64-bit epoch seed drawn from the
/// trainer's generator: the order samples are visited in, and each sample's augmentation seed.
public enum EpochOrder {
    /// A uniform random permutation of `0..<count` (Fisher–Yates with Lemire's unbiased bounded
    /// draws), independent of the Swift standard library's shuffling algorithm.
    public static func shuffled(count: Int, seed: UInt64) -> [Int] {
        var generator = SeededGenerator(seed: seed).derived(stream: 0)
        var order = Array(0..<count)
        var i = count - 1
        while i > 0 {
            let j = Int(bounded(UInt64(i + 1), using: &generator))
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }

    /// The augmentation seed of the sample at `index` of the source in the epoch with
    /// `epochSeed`: independent of batching and of the visiting order.
    public static func sampleSeed(epochSeed: UInt64, index: Int) -> UInt64 {
        var generator = SeededGenerator(seed: epochSeed).derived(stream: 1).derived(stream: UInt64(index))
        return generator.next()
    }

    /// A uniform integer in `0..<bound` (Lemire, "Fast random integer generation in an interval").
    public static func bounded(_ bound: UInt64, using generator: inout SeededGenerator) -> UInt64 {
        var product = generator.next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = generator.next().multipliedFullWidth(by: bound) }
        }
        return product.high
    }
}
