import TensorCore

/// How a parameter is initialised (METHOD.md §2.2, as the reference code does).
public enum ParameterInit: Sendable, Equatable {
    /// All elements equal to `value` (LayerNorm weight 1, biases 0).
    case constant(Float)
    /// Normal(0, std) — cls / mask tokens and slot embeddings use std 0.02.
    case normal(std: Float)
    /// Xavier/Glorot uniform, U(−a, a) with a = √(6 / (fanIn + fanOut)) — every Linear weight.
    /// Linear weights are stored as PyTorch does, [fanOut, fanIn] (Y = X·Wᵀ + b), so checkpoints
    /// and the timm export need no transposes.
    case xavierUniform(fanIn: Int, fanOut: Int)
}

/// One named parameter's place in the arena: a contiguous range of `count` floats at `offset`.
public struct ParameterView: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public let initializer: ParameterInit
    /// Whether AdamW's decoupled weight decay applies (no decay on norms and biases, METHOD.md §6.1).
    public let decays: Bool

    public var count: Int { shape.reduce(1, *) }
    public var range: Range<Int> { offset..<(offset + count) }
}

/// Handle to a registered parameter (its registration index).
public struct ParameterID: Sendable, Hashable {
    public let index: Int
}

/// The parameter list of a model, in declaration order (STYLE.md rule 3): names, shapes and
/// offsets into one flat buffer. Built once by the model's constructor; the arena allocates it.
public struct ParameterLayout: Sendable, Equatable {
    /// Each parameter starts on a 16-float (64-byte) boundary so SIMD16 loops start aligned.
    public static let alignment = 16

    public private(set) var views: [ParameterView] = []
    /// Total floats including alignment padding.
    public private(set) var totalCount = 0

    public init() {}

    /// Registers a parameter. Names must be unique; by convention they follow the reference
    /// model's PyTorch names (`encoder.blocks.0.attn.qkv.weight`) so checkpoints map one to one.
    @discardableResult
    public mutating func register(_ name: String, shape: [Int], initializer: ParameterInit,
                                  decays: Bool? = nil) -> ParameterID {
        precondition(!views.contains { $0.name == name }, "ParameterLayout: duplicate parameter \(name)")
        precondition(shape.allSatisfy { $0 > 0 }, "ParameterLayout: \(name) has an empty shape \(shape)")
        let offset = (totalCount + Self.alignment - 1) / Self.alignment * Self.alignment
        let view = ParameterView(name: name, shape: shape, offset: offset, initializer: initializer,
                                 decays: decays ?? Self.decaysByDefault(name))
        views.append(view)
        totalCount = offset + view.count
        return ParameterID(index: views.count - 1)
    }

    /// The reference code's rule (`--filter_norm_bias`): names containing "norm" or "bias" get no
    /// weight decay; everything else, tokens and embeddings included, decays.
    public static func decaysByDefault(_ name: String) -> Bool {
        !(name.contains("norm") || name.contains("bias"))
    }

    /// Number of real (unpadded) parameters.
    public var parameterCount: Int { views.reduce(0) { $0 + $1.count } }

    public subscript(id: ParameterID) -> ParameterView { views[id.index] }

    public func id(named name: String) -> ParameterID? {
        views.firstIndex { $0.name == name }.map(ParameterID.init(index:))
    }
}
