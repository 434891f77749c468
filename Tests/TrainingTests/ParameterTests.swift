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
