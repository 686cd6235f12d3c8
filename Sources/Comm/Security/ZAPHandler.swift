import CZeroMQ
import Foundation
import Synchronization

// MARK: - ZAP: who may complete a CURVE handshake

/// The ZAP handler of one context: a REP socket on `inproc://zeromq.zap.01`, served by its own thread.
///
/// libzmq asks it about every CURVE handshake on a server socket of the context; without it CURVE
/// encrypts but admits *any* client key. Each CURVE server registers its ZAP domain with an allow-list;
/// requests for an unknown domain or a key outside the list are refused (ZAP status 400), counted as
/// `.authentication` on that server's counters and logged. Started by `ZMQContext.authenticator()`,
/// stopped by `ZMQContext.terminate()` (its socket sees ETERM).
final class ZAPHandler: Sendable {
    /// What a registered server admits and where its refusals are reported.
    struct Domain: Sendable {
        var allowList: CurveAllowList
        var counters: TransportCounters
        var endpoint: String
        var log: @Sendable (String) -> Void
    }

    static let endpoint = "inproc://zeromq.zap.01"

    private let domains = Mutex<[String: Domain]>([:])
    private let stopped = DispatchSemaphore(value: 0)

    private init() {}

    /// Starts the handler thread and returns once its socket is bound (or throws why it could not bind).
    static func start(context: ZMQContext) throws(TransportError) -> ZAPHandler {
        let handler = ZAPHandler()
        let ready = DispatchSemaphore(value: 0)
        let startError = Mutex<TransportError?>(nil)
        let thread = Thread {
            let socket: ZMQSocket
            do throws(ZMQError) {
                socket = try ZMQSocket(context: context, type: .reply)
                try socket.set(.linger, 0)
                try socket.bind(ZAPHandler.endpoint)
            } catch {
                startError.withLock { $0 = error.transportError }
                ready.signal()
                handler.stopped.signal()
                return
            }
            ready.signal()
            handler.serve(socket)
            socket.close()
            handler.stopped.signal()
        }
        thread.name = "neighbormae.zap"
        thread.start()
        ready.wait()
        if let error = startError.withLock({ $0 }) { throw error }
        return handler
    }

    func register(domain: String, _ entry: Domain) {
        domains.withLock { $0[domain] = entry }
    }

    /// Replaces the endpoint named in a domain's log lines (once a bind resolved it).
    func updateEndpoint(domain: String, endpoint: String) {
        domains.withLock { $0[domain]?.endpoint = endpoint }
    }

    func unregister(domain: String) {
        _ = domains.withLock { $0.removeValue(forKey: domain) }
    }

    /// Blocks until the handler thread has closed its socket (after the context was shut down).
    func waitUntilStopped() {
        stopped.wait()
        stopped.signal()  // later callers pass too
    }

    // MARK: - Requests

    /// Answers requests until the context terminates.
    private func serve(_ socket: ZMQSocket) {
        withExtendedLifetime(socket) {
            while true {
                let request: ZMQMultipart
                do throws(ZMQError) {
                    request = try socket.receive(maxFrames: 8, wait: true)
                } catch .terminated {
                    return
                } catch {
                    continue
                }
                let reply = answer(request.frames.map(\.bytes))
                do throws(ZMQError) {
                    try socket.send(reply.map { Frame($0) }, timeout: .seconds(1))
                } catch .terminated {
                    return
                } catch {
                    continue
                }
            }
        }
    }

    /// The six reply frames for one request (RFC 27: version, request id, status, text, user id, metadata).
    private func answer(_ frames: [[UInt8]]) -> [[UInt8]] {
        func reply(_ id: [UInt8], _ status: String, _ text: String, user: String = "") -> [[UInt8]] {
            [Array("1.0".utf8), id, Array(status.utf8), Array(text.utf8), Array(user.utf8), []]
        }
        guard frames.count >= 6, frames[0] == Array("1.0".utf8) else {
            return reply(frames.count > 1 ? frames[1] : [], "500", "malformed ZAP request")
        }
        let domainName = String(decoding: frames[2], as: UTF8.self)
        let address = String(decoding: frames[3], as: UTF8.self)
        let mechanism = String(decoding: frames[5], as: UTF8.self)
        guard let domain = domains.withLock({ $0[domainName] }) else {
            return reply(frames[1], "400", "unknown ZAP domain")
        }
        guard mechanism == "CURVE", frames.count >= 7, frames[6].count == 32 else {
            refuse(domain, "a \(mechanism) client from \(address) (CURVE required)")
            return reply(frames[1], "400", "CURVE required")
        }
        let key = CurvePublicKey(bytes: frames[6])
        guard let name = domain.allowList.name(of: key) else {
            refuse(domain, "CURVE client key \(key.z85) from \(address): not in the allow-list")
            return reply(frames[1], "400", "key not allowed")
        }
        return reply(frames[1], "200", "OK", user: name.isEmpty ? key.z85 : name)
    }

    private func refuse(_ domain: Domain, _ what: String) {
        domain.counters.countRejected(.authentication)
        domain.log("[transport] \(domain.endpoint): refused \(what)")
    }
}
