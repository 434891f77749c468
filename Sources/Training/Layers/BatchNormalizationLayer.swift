import CNN

/// Sum of `count` floats in 16 interleaved Float lanes, then the lanes in order, in Double.
@inline(__always)
func laneSum(_ source: UnsafePointer<Float>, count: Int) -> Double {
    var lanes = SIMD16<Float>()
    var index = 0
    while index + 16 <= count {
        lanes += UnsafeRawPointer(source + index).loadUnaligned(as: SIMD16<Float>.self)
        index += 16
    }
    var sum = 0.0
    for lane in 0..<16 { sum += Double(lanes[lane]) }
    while index < count { sum += Double(source[index]); index += 1 }
    return sum
}

/// `BatchNormalization` over the channel axis of `[N, C, ...]`; the normalization itself runs
/// the engine's ``ChannelAffineKernel``.
///
/// Training mode normalizes with the statistics of the micro-batch being computed (ghost batch
/// normalization, see ``Network``): mean and biased variance over N and the spatial axes, and
/// reports the mean and unbiased variance for the running-statistics update. Inference mode, and
/// training of a node whose scale and shift are both frozen (a frozen layer is a fixed function:
/// it neither normalizes with batch statistics nor updates its running statistics), use the
/// running statistics.
final class BatchNormalizationLayer: Layer, @unchecked Sendable {
    let node: NetworkNode
    let epsilon: Float
    let scale: Parameter, shift: Parameter, runningMean: Parameter, runningVariance: Parameter
    private var scaleValues: [Float] = [], shiftValues: [Float] = []
    private var meanValues: [Float] = [], varianceValues: [Float] = []
    private var usesBatchStatistics = false

    init(node: NetworkNode, epsilon: Float, initializers: [Parameter]) throws {
        self.node = node
        self.epsilon = epsilon
        guard initializers.count == 4 else {
            throw NetworkError.invalidNode(node: node.name, operatorType: "BatchNormalization",
                                           detail: "needs 4 initializers (scale, B, input_mean, input_var), got \(initializers.count)")
        }
        scale = initializers[0]; shift = initializers[1]; runningMean = initializers[2]; runningVariance = initializers[3]
        let channels = scale.count
        for p in initializers where p.shape != [channels] {
            throw invalid("initializer \"\(p.name)\" has shape \(p.shape); scale, B, input_mean and input_var must all be [\(channels)]")
        }
        guard epsilon > 0, epsilon.isFinite else { throw invalid("epsilon \(epsilon) must be positive") }
    }

    /// True when training leaves this node's normalization fixed (scale and shift frozen).
    var isFrozen: Bool { scale.isFrozen && shift.isFrozen }

    func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        guard let x = inputShapes.first, x.count >= 2, x[1] == scale.count else {
            throw invalid("input \(inputShapes.first ?? []) must be [N, \(scale.count), ...]")
        }
        return x
    }

    func prepare(training: Bool, batch: Int, outputShape: [Int]) throws {
        scaleValues = scale.value; shiftValues = shift.value
        meanValues = runningMean.value; varianceValues = runningVariance.value
        usesBatchStatistics = training && !isFrozen
    }

    func forward(inputs: [FloatBuffer], inputShapes: [[Int]], output: FloatBuffer, outputShape: [Int],
                 saved: SavedState, context: inout ForwardContext) {
        let x = inputShapes[0]
        let batch = x[0], channels = x[1], spatial = x.dropFirst(2).reduce(1, *)
        let input = inputs[0].pointer, out = output.pointer
        let mean = FloatBuffer(count: channels), inverseStd = FloatBuffer(count: channels)
        if usesBatchStatistics {
            let m = Double(batch * spatial)
            var means = [Double](repeating: 0, count: channels), variances = means
            for c in 0..<channels {
                var sum = 0.0
                for n in 0..<batch { sum += laneSum(input + (n * channels + c) * spatial, count: spatial) }
                let mu = sum / max(m, 1)
                let muFloat = Float(mu)
                var squares = 0.0
                for n in 0..<batch {
                    let plane = input + (n * channels + c) * spatial
                    var lanes = SIMD16<Float>()
                    var index = 0
                    while index + 16 <= spatial {
                        let d = UnsafeRawPointer(plane + index).loadUnaligned(as: SIMD16<Float>.self) - muFloat
                        lanes.addProduct(d, d)
                        index += 16
                    }
                    var part = 0.0
                    for lane in 0..<16 { part += Double(lanes[lane]) }
                    while index < spatial { let d = Double(plane[index] - muFloat); part += d * d; index += 1 }
                    squares += part
                }
                let variance = squares / max(m, 1)
                means[c] = mu
                variances[c] = m > 1 ? variance * m / (m - 1) : variance
                mean.pointer[c] = muFloat
                inverseStd.pointer[c] = Float(1 / (variance + Double(epsilon)).squareRoot())
            }
            saved.statistics = (means, variances, Int(m))
        } else {
            for c in 0..<channels {
                mean.pointer[c] = meanValues[c]
                inverseStd.pointer[c] = 1 / (varianceValues[c] + epsilon).squareRoot()
            }
        }
        // y = x * a + b with a = scale * istd, b = shift - mean * a: the engine's loop.
        let multiplier = context.scratch.block(0, count: 2 * channels), offset = multiplier + channels
        for c in 0..<channels {
            let a = scaleValues[c] * inverseStd.pointer[c]
            multiplier[c] = a
            offset[c] = shiftValues[c] - mean.pointer[c] * a
        }
        ChannelAffineKernel.apply(input: input, output: out, batch: batch, channels: channels, spatial: spatial,
                                  multiplier: multiplier, offset: offset)
        saved.buffers = [mean, inverseStd]
    }

    var writesFreshInputGradients: Bool { true }

    func backward(_ b: BackwardBuffers) {
        let x = b.inputShapes[0]
        let fresh = b.freshInputGradients[0]
        let batch = x[0], channels = x[1], spatial = x.dropFirst(2).reduce(1, *)
        let input = b.inputs[0].pointer, dy = b.outputGradient.pointer
        let mean = b.saved.buffers[0].pointer, inverseStd = b.saved.buffers[1].pointer
        let dScale = b.parameterGradients[0], dShift = b.parameterGradients[1]
        let dInput = b.inputGradients[0]
        let m = Float(batch * spatial)
        for c in 0..<channels {
            let mu = mean[c], istd = inverseStd[c]
            var sumDy = 0.0, sumDyXhat = 0.0
            for n in 0..<batch {
                let offset = (n * channels + c) * spatial
                var lanesDy = SIMD16<Float>(), lanesDyX = SIMD16<Float>()
                var index = 0
                while index + 16 <= spatial {
                    let g = UnsafeRawPointer(dy + offset + index).loadUnaligned(as: SIMD16<Float>.self)
                    let xhat = (UnsafeRawPointer(input + offset + index).loadUnaligned(as: SIMD16<Float>.self) - mu) * istd
                    lanesDy += g
                    lanesDyX.addProduct(g, xhat)
                    index += 16
                }
                for lane in 0..<16 { sumDy += Double(lanesDy[lane]); sumDyXhat += Double(lanesDyX[lane]) }
                while index < spatial {
                    let g = dy[offset + index]
                    sumDy += Double(g)
                    sumDyXhat += Double(g * ((input[offset + index] - mu) * istd))
                    index += 1
                }
            }
            dShift?.pointer[c] += Float(sumDy)
            dScale?.pointer[c] += Float(sumDyXhat)
            guard let dInput else { continue }
            let gamma = scaleValues[c]
            if usesBatchStatistics {
                // dx += gamma * istd / m * (m * dy - sum(dy) - xhat * sum(dy * xhat)), with
                // xhat = (x - mu) * istd, as dx += p * dy + q * x + r.
                let factor = gamma * istd / m
                let sumG = Float(sumDy), sumGX = Float(sumDyXhat)
                let p = factor * m, q = -factor * istd * sumGX, r = -factor * sumG + factor * mu * istd * sumGX
                for n in 0..<batch {
                    let offset = (n * channels + c) * spatial
                    let x = input + offset, g = dy + offset, target = dInput.pointer + offset
                    if fresh {
                        for i in 0..<spatial { target[i] = p * g[i] + q * x[i] + r }
                    } else {
                        for i in 0..<spatial { target[i] += p * g[i] + q * x[i] + r }
                    }
                }
            } else {
                let factor = gamma * istd
                for n in 0..<batch {
                    let offset = (n * channels + c) * spatial
                    let g = dy + offset, target = dInput.pointer + offset
                    if fresh {
                        for i in 0..<spatial { target[i] = factor * g[i] }
                    } else {
                        for i in 0..<spatial { target[i] += factor * g[i] }
                    }
                }
            }
        }
    }
}
