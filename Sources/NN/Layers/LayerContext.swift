import TensorCore

/// What every layer's forward and backward need besides its inputs: the parameter arena (values
/// and gradients, looked up by `ParameterID`) and the thread pool that runs the kernels.
///
/// Layers are plain values holding `ParameterID`s; they own no memory and no global state.
/// `pool: nil` runs everything on the calling thread. Results are bit-identical for any pool size.
public struct LayerContext: Sendable {
    public let arena: ParameterArena
    public let pool: ThreadPool?

    public init(arena: ParameterArena, pool: ThreadPool? = nil) {
        self.arena = arena
        self.pool = pool
    }
}
