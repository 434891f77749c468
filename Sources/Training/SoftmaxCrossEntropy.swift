import CNN
import Foundation

/// Softmax cross-entropy over the class axis of logits, with class weights and an ignore index
/// (PyTorch's `CrossEntropyLoss(weight:, ignore_index:, reduction: "sum")` semantics).
///
/// Logits are NCHW Float32: `[N, C]` (patch classification, targets `[N]`) or `[N, C, H, W]`
/// (segmentation, targets `[N * H * W]`, row-major per sample). For every target `t` that is
/// not `ignoreIndex`, the loss adds `weight[t] * -log softmax(logits)[t]` and the weight sum adds
/// `weight[t]`; the mean loss is `lossSum / weightSum`. The log-sum-exp is evaluated in Float64
/// after subtracting the row maximum. Predictions are the argmax over the class axis (first
/// index wins ties), for every element including ignored ones.
public enum SoftmaxCrossEntropy {
    /// Loss and argmax predictions of `logits` against `targets`, without gradients.
    /// - Throws: ``NetworkError/invalidTargets(detail:)`` when the logits are not rank 2 or 4, the
    ///   target count does not match, a target is outside `0 ..< C` (and not `ignoreIndex`) or the
    ///   class weights do not have `C` finite non-negative entries.
    public static func evaluate(logits: Tensor, targets: [Int32], options: CrossEntropyOptions) throws -> BatchOutcome {
        let layout = try Layout(logitsShape: logits.shape, targetCount: targets.count, options: options)
        try validate(targets: targets, classes: layout.classes, options: options)
        return logits.scalars.withUnsafeBufferPointer { buffer in
            compute(logits: buffer.baseAddress, layout: layout, targets: targets, options: options,
                    gradientScale: 0, gradient: nil)
        }
    }

    /// Geometry of one loss evaluation: `outer` samples, `classes` channels, `inner` pixels.
    struct Layout {
        let outer: Int
        let classes: Int
        let inner: Int

        /// The layout of already validated `[N, C]` or `[N, C, H, W]` logits.
        init(unchecked shape: [Int]) {
            outer = shape.first ?? 0
            classes = shape.count > 1 ? shape[1] : 0
            inner = shape.dropFirst(2).reduce(1, *)
        }

        init(logitsShape shape: [Int], targetCount: Int, options: CrossEntropyOptions) throws {
            guard shape.count == 2 || shape.count == 4 else {
                throw NetworkError.invalidTargets(detail: "logits must be [N, C] or [N, C, H, W], got \(shape)")
            }
            outer = shape[0]
            classes = shape[1]
            inner = shape.dropFirst(2).reduce(1, *)
            guard classes > 0 else { throw NetworkError.invalidTargets(detail: "logits \(shape) have no classes") }
            guard targetCount == outer * inner else {
                let expected = shape.count == 2 ? "N = \(outer)" : "N * H * W = \(outer * inner)"
                throw NetworkError.invalidTargets(detail: "logits \(shape) need \(expected) targets, got \(targetCount)")
            }
            if let weights = options.classWeights {
                guard weights.count == classes, weights.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                    throw NetworkError.invalidTargets(detail: "classWeights must list \(classes) finite, non-negative weights (one per class), got \(weights.count)")
                }
            }
        }
    }

    /// Checks that every target is a class index or the ignore index.
    static func validate(targets: [Int32], classes: Int, options: CrossEntropyOptions) throws {
        for (index, target) in targets.enumerated() where target != options.ignoreIndex {
            guard target >= 0, Int(target) < classes else {
                throw NetworkError.invalidTargets(detail: "target \(index) is \(target), outside 0..<\(classes) and not the ignore index \(options.ignoreIndex)")
            }
        }
    }

    /// Sum of the weights of the non-ignored targets.
    static func weightSum(targets: [Int32], options: CrossEntropyOptions) -> Double {
        var sum = 0.0
        for target in targets where target != options.ignoreIndex {
            sum += Double(options.classWeights?[Int(target)] ?? 1)
        }
        return sum
    }

    /// Loss, weight sum and predictions; when `gradient` is given, writes
    /// `gradientScale * d(lossSum)/d(logits)` there (ignored targets get zeros).
    /// Targets must already be validated.
    static func compute(logits: UnsafePointer<Float>?, layout: Layout, targets: [Int32], options: CrossEntropyOptions,
                        gradientScale: Double, gradient: UnsafeMutablePointer<Float>?) -> BatchOutcome {
        let classes = layout.classes, inner = layout.inner
        var lossSum = 0.0, weightSum = 0.0
        var predictions = [Int32](repeating: 0, count: layout.outer * inner)
        guard let logits else { return BatchOutcome(lossSum: 0, weightSum: 0, predictions: predictions) }
        var probabilities = [Double](repeating: 0, count: classes)
        for n in 0..<layout.outer {
            let base = n * classes * inner
            for pixel in 0..<inner {
                let first = logits + base + pixel
                var best = first[0], bestIndex = 0
                for c in 1..<max(classes, 1) where c < classes {
                    let value = first[c * inner]
                    if value > best || (best.isNaN && !value.isNaN) { best = value; bestIndex = c }
                }
                let element = n * inner + pixel
                predictions[element] = Int32(bestIndex)
                let target = targets[element]
                let ignored = target == options.ignoreIndex
                if ignored {
                    if let gradient { for c in 0..<classes { gradient[base + c * inner + pixel] = 0 } }
                    continue
                }
                let maximum = Double(best)
                var sum = 0.0
                for c in 0..<classes {
                    let e = exp(Double(first[c * inner]) - maximum)
                    probabilities[c] = e
                    sum += e
                }
                let t = Int(target)
                let weight = Double(options.classWeights?[t] ?? 1)
                lossSum += weight * (maximum + log(sum) - Double(first[t * inner]))
                weightSum += weight
                if let gradient {
                    let factor = weight * gradientScale / sum
                    for c in 0..<classes {
                        var g = probabilities[c] * factor
                        if c == t { g -= weight * gradientScale }
                        gradient[base + c * inner + pixel] = Float(g)
                    }
                }
            }
        }
        return BatchOutcome(lossSum: lossSum, weightSum: weightSum, predictions: predictions)
    }
}
