import CZeroMQ

// MARK: - Which libzmq this process runs on

/// The libzmq version linked at run time, e.g. (4, 3, 4).
public func zmqVersion() -> (major: Int, minor: Int, patch: Int) {
    var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
    zmq_version(&major, &minor, &patch)
    return (Int(major), Int(minor), Int(patch))
}

/// Whether libzmq was built with a capability such as "curve" or "ipc".
public func zmqHas(_ capability: String) -> Bool {
    zmq_has(capability) != 0
}
