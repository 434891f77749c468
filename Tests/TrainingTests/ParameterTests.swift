import Testing
import Training

@Suite struct ParameterTests {
    @Test func zeroGradientClearsAccumulatedValues() {
        let p = Parameter(name: "w", shape: [2, 3], value: [1, 2, 3, 4, 5, 6])
        p.gradient[4] = 3
        p.zeroGradient()
        #expect(p.gradient == [Float](repeating: 0, count: 6))
        #expect(p.count == 6)
    }
}

@Suite struct SeededGeneratorTests {
    @Test func equalSeedsGiveEqualStreamsAndStateRestores() throws {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let first = (0..<8).map { _ in a.next() }
        #expect(first == (0..<8).map { _ in b.next() })
        #expect(first != (0..<8).map { _ in c.next() })
        let saved = a.state
        let next = a.next()
        var restored = try #require(SeededGenerator(state: saved))
        #expect(restored.next() == next)
        #expect(SeededGenerator(state: [0, 0, 0, 0]) == nil)
    }

    @Test func unitFloatsAndGaussiansHaveTheRightMoments() {
        var g = SeededGenerator(seed: 7)
        let n = 20_000
        var sum = 0.0, sumSquares = 0.0, uniformSum = 0.0
        for _ in 0..<n {
            let u = g.nextUnitFloat()
            #expect(u >= 0 && u < 1)
            uniformSum += Double(u)
            let z = Double(g.nextGaussian())
            sum += z; sumSquares += z * z
        }
        #expect(abs(uniformSum / Double(n) - 0.5) < 0.01)
        #expect(abs(sum / Double(n)) < 0.03)
        #expect(abs(sumSquares / Double(n) - 1) < 0.05)
    }
}
