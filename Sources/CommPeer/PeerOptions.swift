import Comm
import Foundation
import Wire

/// A failure of the peer process (printed to stderr; exit status 1).
struct PeerFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `--name value` pairs from the command line.
struct PeerOptions {
    private var values: [String: String] = [:]

    init(_ arguments: [String]) throws {
        var index = 0
        while index < arguments.count {
            let name = arguments[index]
            guard name.hasPrefix("--"), index + 1 < arguments.count else {
                throw PeerFailure("expected --name value, got \(name)")
            }
            values[String(name.dropFirst(2))] = arguments[index + 1]
            index += 2
        }
    }

    func string(_ name: String) throws -> String {
        guard let value = values[name] else { throw PeerFailure("missing --\(name)") }
        return value
    }

    func int(_ name: String, default fallback: Int? = nil) throws -> Int {
        guard let text = values[name] else {
            if let fallback { return fallback }
            throw PeerFailure("missing --\(name)")
        }
        guard let value = Int(text), value >= 0 else { throw PeerFailure("--\(name) takes a count, not \(text)") }
        return value
    }

    var run: RunID {
        RunID(high: UInt64(values["run-high"] ?? "") ?? 0x0BE1C4, low: UInt64(values["run-low"] ?? "") ?? 1)
    }

    /// CURVE server (`--keys` + `--allow`), CURVE client (`--keys` + `--server-key`), or plaintext
    /// (ipc, or explicit loopback tcp).
    func security(endpoint: String) throws -> TransportSecurity {
        if let keysFile = values["keys"] {
            let keys = try CurveKeyFiles.loadKeyPair(keysFile)
            if let allow = values["allow"] {
                return .curveServer(keys: keys, allowList: try CurveKeyFiles.loadAllowList(allow))
            }
            return .curveClient(keys: keys, serverPublicKey: try CurveKeyFiles.loadPublicKey(try string("server-key")))
        }
        return endpoint.hasPrefix("tcp://") ? .insecureLoopback : .none
    }

    /// Transport options for `endpoint`, with the HWM budget sized for `typicalBytes` messages.
    func transportOptions(endpoint: String, typicalBytes: Int = 1 << 20) throws -> TransportOptions {
        var options = TransportOptions(expectedRunID: run, security: try security(endpoint: endpoint))
        options.typicalMessageBytes = max(1, typicalBytes)
        options.highWaterMarkBytes = try int("hwm-bytes", default: options.highWaterMarkBytes)
        return options
    }
}

/// Prints a line to stdout at once (the parent reads it through a pipe).
func announce(_ line: String) {
    print(line)
    fflush(nil)
}
