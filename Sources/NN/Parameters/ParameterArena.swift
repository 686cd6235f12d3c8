import TensorCore

/// Parameters, gradients and AdamW moments of a model, each one flat buffer in the layout's
/// order (STYLE.md rule 3). Layers hold `ParameterID`s and ask for views; the optimizer is one
/// loop over the buffers; the all-reduce sends `gradients` whole; a checkpoint writes the buffers
/// with the layout as manifest.
public final class ParameterArena: @unchecked Sendable {
    public let layout: ParameterLayout
    public let parameters: FloatStorage
    public let gradients: FloatStorage
    /// AdamW first and second moments.
    public let firstMoment: FloatStorage
    public let secondMoment: FloatStorage

    /// Allocates zeroed buffers and initialises the parameters from `seed`: parameter i draws
    /// from Philox stream (i, purpose 0), so its values do not depend on the other parameters.
    public init(layout: ParameterLayout, seed: UInt64) {
        self.layout = layout
        parameters = FloatStorage(count: layout.totalCount)
        gradients = FloatStorage(count: layout.totalCount)
        firstMoment = FloatStorage(count: layout.totalCount)
        secondMoment = FloatStorage(count: layout.totalCount)
        initialize(seed: seed)
    }

    /// The parameter as a tensor view of its declared shape.
    public func parameter(_ id: ParameterID) -> Tensor {
        let view = layout[id]
        return Tensor(storage: parameters, offset: view.offset, shape: view.shape)
    }

    /// The gradient of a parameter as a tensor view.
    public func gradient(_ id: ParameterID) -> Tensor {
        let view = layout[id]
        return Tensor(storage: gradients, offset: view.offset, shape: view.shape)
    }

    /// Sets every gradient to zero (once per step: backward kernels accumulate).
    public func zeroGradients() {
        gradients.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// Re-initialises every parameter and clears gradients and moments.
    public func initialize(seed: UInt64) {
        let rng = CounterRNG(seed: seed)
        parameters.withUnsafeMutableBufferPointer { all in
            all.update(repeating: 0)
            for (index, view) in layout.views.enumerated() {
                var stream = rng.stream(UInt32(index), 0)
                let slice = UnsafeMutableBufferPointer(rebasing: all[view.range])
                switch view.initializer {
                case .constant(let value):
                    slice.update(repeating: value)
                case .normal(let std):
                    stream.fillNormal(slice, mean: 0, std: std)
                case .xavierUniform(let fanIn, let fanOut):
                    let bound = (6.0 / Double(fanIn + fanOut)).squareRoot()
                    for i in slice.indices { slice[i] = Float(stream.nextUniform(-bound, bound)) }
                }
            }
        }
        for storage in [gradients, firstMoment, secondMoment] {
            storage.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
    }
}
