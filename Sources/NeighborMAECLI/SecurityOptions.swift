import ArgumentParser
import Comm
import Foundation

/// CURVE settings of a binding endpoint (the coordinator's control socket).
struct ServerSecurityOptions: ParsableArguments {
    @Option(name: .customLong("key"), help: "CURVE key pair file (neighbormae keygen) for tcp endpoints.")
    var keyFile: String?
    @Option(name: .customLong("allow"), help: "Allow-list of worker public keys (one per line) for tcp endpoints.")
    var allowFile: String?
    @Flag(help: "Plaintext tcp (loopback addresses only; for tests).") var insecure = false

    func transportSecurity(for endpoint: String) throws -> TransportSecurity {
        guard endpoint.hasPrefix("tcp://") else { return .none }
        if insecure { return .insecureLoopback }
        guard let keyFile, let allowFile else {
            throw ValidationError("\(endpoint) needs --key and --allow (CURVE), or --insecure on a loopback address")
        }
        return .curveServer(keys: try CurveKeyFiles.loadKeyPair(keyFile),
                            allowList: try CurveKeyFiles.loadAllowList(allowFile))
    }
}

/// CURVE settings of a connecting endpoint (a worker's control connection).
struct ClientSecurityOptions: ParsableArguments {
    @Option(name: .customLong("key"), help: "This worker's CURVE key pair file, for a tcp coordinator.")
    var keyFile: String?
    @Option(name: .customLong("coordinator-key"), help: "The coordinator's public key file (.pub).")
    var coordinatorKeyFile: String?
    @Flag(help: "Plaintext tcp (loopback addresses only; for tests).") var insecure = false

    func transportSecurity(for endpoint: String) throws -> TransportSecurity {
        guard endpoint.hasPrefix("tcp://") else { return .none }
        if insecure { return .insecureLoopback }
        guard let keyFile, let coordinatorKeyFile else {
            throw ValidationError("\(endpoint) needs --key and --coordinator-key (CURVE), or --insecure on loopback")
        }
        return .curveClient(keys: try CurveKeyFiles.loadKeyPair(keyFile),
                            serverPublicKey: try CurveKeyFiles.loadPublicKey(coordinatorKeyFile))
    }
}
