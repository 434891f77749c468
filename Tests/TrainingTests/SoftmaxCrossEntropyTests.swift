import CNN
import Foundation
import Testing
import Training

@Suite struct SoftmaxCrossEntropyTests {
    @Test func patchLossMatchesHandComputedValues() throws {
        // Two samples, three classes.
        let logits = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 0, 0, 5])
        let outcome = try SoftmaxCrossEntropy.evaluate(logits: logits, targets: [0, 2], options: CrossEntropyOptions())
        let first = log(exp(1.0) + exp(2.0) + exp(3.0)) - 1
        let second = log(2 + exp(5.0)) - 5
        #expect(abs(outcome.lossSum - (first + second)) < 1e-6)
        #expect(outcome.weightSum == 2)
        #expect(outcome.predictions == [2, 2])
    }

    @Test func classWeightsAndIgnoreIndexApplyPerPixel() throws {
        // [N=1, C=2, H=1, W=3]: logits per pixel (c0, c1) = (0, 1), (2, 0), (1, 1).
        let logits = try Tensor(shape: [1, 2, 1, 3], scalars: [0, 2, 1, 1, 0, 1])
        let options = CrossEntropyOptions(classWeights: [0.5, 2], ignoreIndex: 255)
        let outcome = try SoftmaxCrossEntropy.evaluate(logits: logits, targets: [1, 255, 0], options: options)
        let pixel0 = 2 * (log(1 + exp(1.0)) - 1)
        let pixel2 = 0.5 * log(2.0)
        #expect(abs(outcome.lossSum - (pixel0 + pixel2)) < 1e-6)
        #expect(outcome.weightSum == 2.5)
        #expect(outcome.predictions == [1, 0, 0])
        #expect(abs(outcome.meanLoss - (pixel0 + pixel2) / 2.5) < 1e-6)
    }

    @Test func invalidTargetsAreReported() throws {
        let logits = try Tensor(shape: [2, 3], scalars: [Float](repeating: 0, count: 6))
        #expect(throws: NetworkError.self) { try SoftmaxCrossEntropy.evaluate(logits: logits, targets: [0], options: .init()) }
        #expect(throws: NetworkError.self) { try SoftmaxCrossEntropy.evaluate(logits: logits, targets: [0, 3], options: .init()) }
        #expect(throws: NetworkError.self) {
            try SoftmaxCrossEntropy.evaluate(logits: logits, targets: [0, 1], options: .init(classWeights: [1, 1]))
        }
        let ignored = try SoftmaxCrossEntropy.evaluate(logits: logits, targets: [-1, -1], options: .init())
        #expect(ignored.weightSum == 0 && ignored.lossSum == 0 && ignored.meanLoss == 0)
    }
}
