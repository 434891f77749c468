import Foundation

/// A named tensor's values at one moment (a parameter or buffer saved in a ``TrainerState``).
public struct TensorSnapshot: Sendable, Equatable {
    /// The parameter's name.
    public var name: String
    /// Its shape.
    public var shape: [Int]
    /// Its values, row-major.
    public var values: [Float]

    /// Creates a snapshot.
    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
    }

    /// The current value of `parameter`.
    public init(_ parameter: Parameter) {
        self.init(name: parameter.name, shape: parameter.shape, values: parameter.value)
    }
}

/// Everything needed to continue an interrupted training run bit-identically: progress, the
/// random generator, the optimizer's moments, early-stopping bookkeeping and the network's
/// current (and best) parameters.
///
/// The trainer writes it after every epoch when given a state file
/// (``Trainer/fit(training:validation:stateFile:onEpoch:)``) and resumes from it with
/// ``Trainer/init(network:configuration:resumingFrom:)``.
///
/// ## File format (version 1)
/// All integers little-endian.
///
/// | offset | size | content |
/// |---|---|---|
/// | 0 | 8 | signature `LCTSTATE` (ASCII) |
/// | 8 | 4 | format version, UInt32 (1) |
/// | 12 | 8 | header length `H` in bytes, UInt64 |
/// | 20 | `H` | header: UTF-8 JSON with the configuration, progress, generator words, optimizer step counts and the list of arrays |
/// | 20 + `H` | rest | the arrays, Float32 little-endian, back to back in header order |
///
/// Each header array entry has a `role` (`parameter`, `buffer`, `bestParameter`, `bestBuffer`,
/// `firstMoment`, `secondMoment`), the index of the parameter or optimizer slot it belongs to,
/// its name and its shape. Floats are stored as raw bits, so a state reads back exactly; the
/// file is written to a temporary file and renamed, so an interruption never leaves half a state.
public struct TrainerState: Sendable, Equatable {
    /// The format version this build writes and reads.
    public static let formatVersion: UInt32 = 1
    static let signature = Array("LCTSTATE".utf8)

    /// The configuration of the run.
    public var configuration: TrainerConfiguration
    /// Epochs finished.
    public var completedEpochs: Int
    /// The trainer's generator (each epoch draws its seed from it).
    public var generator: SeededGenerator
    /// The optimizer's moments and step counts.
    public var optimizer: OptimizerState
    /// The lowest validation loss so far.
    public var bestValidationLoss: Double?
    /// The epoch (from 1) it was reached in.
    public var bestEpoch: Int?
    /// Epochs since the last improvement.
    public var epochsWithoutImprovement: Int
    /// True once early stopping ended the run.
    public var stoppedEarly: Bool
    /// The network's parameters after the last finished epoch.
    public var parameters: [TensorSnapshot]
    /// A ``ResumableNetwork``'s buffers after the last finished epoch (empty otherwise).
    public var buffers: [TensorSnapshot]
    /// A ``ResumableNetwork``'s random state (empty otherwise).
    public var networkRandomState: [UInt64]
    /// Parameters of the best epoch, kept when early stopping restores the best.
    public var bestParameters: [TensorSnapshot]?
    /// Buffers of the best epoch, kept with ``bestParameters``.
    public var bestBuffers: [TensorSnapshot]?

    /// Creates a state.
    public init(configuration: TrainerConfiguration, completedEpochs: Int, generator: SeededGenerator,
                optimizer: OptimizerState, bestValidationLoss: Double?, bestEpoch: Int?, epochsWithoutImprovement: Int,
                stoppedEarly: Bool, parameters: [TensorSnapshot], buffers: [TensorSnapshot] = [],
                networkRandomState: [UInt64] = [], bestParameters: [TensorSnapshot]? = nil,
                bestBuffers: [TensorSnapshot]? = nil) {
        self.configuration = configuration
        self.completedEpochs = completedEpochs
        self.generator = generator
        self.optimizer = optimizer
        self.bestValidationLoss = bestValidationLoss
        self.bestEpoch = bestEpoch
        self.epochsWithoutImprovement = epochsWithoutImprovement
        self.stoppedEarly = stoppedEarly
        self.parameters = parameters
        self.buffers = buffers
        self.networkRandomState = networkRandomState
        self.bestParameters = bestParameters
        self.bestBuffers = bestBuffers
    }
}

/// The JSON header of a state file.
struct TrainerStateHeader: Codable {
    enum Role: String, Codable { case parameter, buffer, bestParameter, bestBuffer, firstMoment, secondMoment }

    struct ArrayEntry: Codable {
        var role: Role
        var index: Int
        var name: String
        var shape: [Int]
    }

    struct Slot: Codable {
        var name: String
        var count: Int
        var step: Int
    }

    var configuration: TrainerConfiguration
    var completedEpochs: Int
    var generator: [UInt64]
    var bestValidationLoss: Double?
    var bestEpoch: Int?
    var epochsWithoutImprovement: Int
    var stoppedEarly: Bool
    var networkRandomState: [UInt64]
    var optimizerAlgorithm: OptimizerAlgorithm
    var optimizerSlots: [Slot]
    var hasBest: Bool
    var arrays: [ArrayEntry]
}

extension TrainerState {
    /// Writes the state to `url` (atomically: a temporary file renamed into place).
    /// - Throws: ``TrainerStateError/io(path:reason:)``.
    public func write(to url: URL) throws {
        var entries: [TrainerStateHeader.ArrayEntry] = []
        var blobs: [[Float]] = []
        func add(_ role: TrainerStateHeader.Role, _ snapshots: [TensorSnapshot]) {
            for (index, snapshot) in snapshots.enumerated() {
                entries.append(.init(role: role, index: index, name: snapshot.name, shape: snapshot.shape))
                blobs.append(snapshot.values)
            }
        }
        add(.parameter, parameters)
        add(.buffer, buffers)
        if let bestParameters { add(.bestParameter, bestParameters) }
        if let bestBuffers { add(.bestBuffer, bestBuffers) }
        for (index, slot) in optimizer.slots.enumerated() {
            if !slot.firstMoment.isEmpty {
                entries.append(.init(role: .firstMoment, index: index, name: slot.name, shape: [slot.count]))
                blobs.append(slot.firstMoment)
            }
            if !slot.secondMoment.isEmpty {
                entries.append(.init(role: .secondMoment, index: index, name: slot.name, shape: [slot.count]))
                blobs.append(slot.secondMoment)
            }
        }
        let header = TrainerStateHeader(
            configuration: configuration, completedEpochs: completedEpochs, generator: generator.state,
            bestValidationLoss: bestValidationLoss, bestEpoch: bestEpoch, epochsWithoutImprovement: epochsWithoutImprovement,
            stoppedEarly: stoppedEarly, networkRandomState: networkRandomState, optimizerAlgorithm: optimizer.algorithm,
            optimizerSlots: optimizer.slots.map { .init(name: $0.name, count: $0.count, step: $0.step) },
            hasBest: bestParameters != nil, arrays: entries)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let headerData: Data
        do {
            headerData = try encoder.encode(header)
        } catch {
            throw TrainerStateError.io(path: url.path, reason: "cannot encode the state header: \(error)")
        }
        var data = Data()
        data.reserveCapacity(20 + headerData.count + 4 * blobs.reduce(0) { $0 + $1.count })
        data.append(contentsOf: Self.signature)
        appendLittleEndian(Self.formatVersion, to: &data)
        appendLittleEndian(UInt64(headerData.count), to: &data)
        data.append(headerData)
        for blob in blobs { appendFloats(blob, to: &data) }
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw TrainerStateError.io(path: url.path, reason: "cannot write the trainer state: \(error.localizedDescription); check the folder exists and is writable")
        }
    }

    /// Reads a state written by ``write(to:)``.
    /// - Throws: ``TrainerStateError`` naming the file: unreadable, not a state file, an
    ///   unsupported version, or corrupt (truncated, header and data disagree).
    public init(contentsOf url: URL) throws {
        let path = url.path
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw TrainerStateError.io(path: path, reason: "cannot read the trainer state: \(error.localizedDescription)")
        }
        guard data.count >= 20, Array(data.prefix(8)) == Self.signature else { throw TrainerStateError.notAStateFile(path: path) }
        let version = readLittleEndian(UInt32.self, data, at: 8)
        guard version == Self.formatVersion else { throw TrainerStateError.unsupportedVersion(path: path, version: version) }
        let headerLength = readLittleEndian(UInt64.self, data, at: 12)
        guard headerLength <= UInt64(data.count - 20) else {
            throw TrainerStateError.corrupt(path: path, detail: "header length \(headerLength) exceeds the file size \(data.count)")
        }
        let headerEnd = 20 + Int(headerLength)
        let header: TrainerStateHeader
        do {
            header = try JSONDecoder().decode(TrainerStateHeader.self, from: data.subdata(in: 20..<headerEnd))
        } catch {
            throw TrainerStateError.corrupt(path: path, detail: "unreadable header: \(Self.describe(error))")
        }
        self = try Self.assemble(header: header, data: data, offset: headerEnd, path: path)
    }

    /// Builds the state from a decoded header and the arrays after it, checking that they agree.
    private static func assemble(header: TrainerStateHeader, data: Data, offset start: Int, path: String) throws -> TrainerState {
        func corrupt(_ detail: String) -> TrainerStateError { .corrupt(path: path, detail: detail) }
        guard let generator = SeededGenerator(state: header.generator) else {
            throw corrupt("generator needs four words, not all zero, got \(header.generator)")
        }
        guard header.completedEpochs >= 0, header.epochsWithoutImprovement >= 0 else {
            throw corrupt("negative completedEpochs or epochsWithoutImprovement")
        }
        var slots = try header.optimizerSlots.map { slot -> OptimizerSlot in
            guard slot.count >= 0, slot.step >= 0 else { throw corrupt("optimizer slot \(slot.name) has a negative count or step") }
            return OptimizerSlot(name: slot.name, count: slot.count, step: slot.step)
        }
        var groups: [TrainerStateHeader.Role: [TensorSnapshot]] = [:]
        var offset = start
        for entry in header.arrays {
            guard entry.shape.allSatisfy({ $0 >= 0 }),
                  let count = entry.shape.reduce(Optional(1), { product, dimension in
                      product.flatMap { let (r, overflow) = $0.multipliedReportingOverflow(by: dimension); return overflow ? nil : r }
                  }),
                  count <= (data.count - offset) / 4 else {
                throw corrupt("array \(entry.role.rawValue) \(entry.name) with shape \(entry.shape) runs past the end of the file")
            }
            let values = readFloats(data, at: offset, count: count)
            offset += 4 * count
            switch entry.role {
            case .parameter, .buffer, .bestParameter, .bestBuffer:
                guard entry.index == groups[entry.role, default: []].count else {
                    throw corrupt("array \(entry.role.rawValue) \(entry.name) is out of order (index \(entry.index))")
                }
                groups[entry.role, default: []].append(TensorSnapshot(name: entry.name, shape: entry.shape, values: values))
            case .firstMoment, .secondMoment:
                guard slots.indices.contains(entry.index), slots[entry.index].count == count, slots[entry.index].name == entry.name else {
                    throw corrupt("optimizer moment \(entry.name) (index \(entry.index), \(count) values) matches no optimizer slot")
                }
                if entry.role == .firstMoment {
                    guard slots[entry.index].firstMoment.isEmpty else { throw corrupt("first moment of \(entry.name) appears twice") }
                    slots[entry.index].firstMoment = values
                } else {
                    guard slots[entry.index].secondMoment.isEmpty else { throw corrupt("second moment of \(entry.name) appears twice") }
                    slots[entry.index].secondMoment = values
                }
            }
        }
        guard offset == data.count else { throw corrupt("\(data.count - offset) bytes after the last array") }
        return TrainerState(
            configuration: header.configuration, completedEpochs: header.completedEpochs, generator: generator,
            optimizer: OptimizerState(algorithm: header.optimizerAlgorithm, slots: slots),
            bestValidationLoss: header.bestValidationLoss, bestEpoch: header.bestEpoch,
            epochsWithoutImprovement: header.epochsWithoutImprovement, stoppedEarly: header.stoppedEarly,
            parameters: groups[.parameter] ?? [], buffers: groups[.buffer] ?? [], networkRandomState: header.networkRandomState,
            bestParameters: header.hasBest ? groups[.bestParameter] ?? [] : nil,
            bestBuffers: header.hasBest ? groups[.bestBuffer] ?? [] : nil)
    }

    /// A decoding error as "key path: problem".
    private static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing key \((path(context).isEmpty ? "" : path(context) + ".") + key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

private func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
    withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
}

private func readLittleEndian<T: FixedWidthInteger>(_ type: T.Type, _ data: Data, at offset: Int) -> T {
    data.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
}

private func appendFloats(_ values: [Float], to data: inout Data) {
    #if _endian(little)
    values.withUnsafeBytes { data.append(contentsOf: $0) }
    #else
    for value in values { appendLittleEndian(value.bitPattern, to: &data) }
    #endif
}

private func readFloats(_ data: Data, at offset: Int, count: Int) -> [Float] {
    data.withUnsafeBytes { bytes in
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count {
                buffer[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4 * i, as: UInt32.self)))
            }
            initialized = count
        }
    }
}
