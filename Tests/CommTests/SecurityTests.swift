import Comm
import Foundation
import Testing

@Suite("Security: keys, key files, endpoint policy")
struct SecurityTests {
    /// A fresh private temporary directory, removed by the caller.
    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "nmae-sec-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        return path
    }

    func mode(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// The error a throwing call produced, or nil.
    func error(_ body: () throws -> Void) -> TransportError? {
        do { try body(); return nil } catch let error as TransportError { return error } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("keygen files: NAME.key is 0600 and loads back; NAME.pub loads; no overwrite")
    func keyFilesRoundTrip() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keys = try CurveKeyPair.generate()
        let files = try CurveKeyFiles.write(keys, directory: directory + "/keys", name: "worker-1")
        #expect(try mode(files.secretFile) == 0o600)
        #expect(try mode(directory + "/keys") == 0o700)
        #expect(try CurveKeyFiles.loadKeyPair(files.secretFile) == keys)
        #expect(try CurveKeyFiles.loadPublicKey(files.publicFile) == keys.publicKey)
        let list = try CurveKeyFiles.loadAllowList(files.publicFile)
        #expect(list.contains(keys.publicKey) && list.name(of: keys.publicKey) == "worker-1")
        let again = error { try CurveKeyFiles.write(keys, directory: directory + "/keys", name: "worker-1") }
        guard case let .security(what, hint)? = again else { Issue.record("overwrite allowed"); return }
        #expect(what.contains("already exists") && hint.contains("remove"))
        #expect(keys.secretKey.description == "<CURVE secret key>", "secret keys never print")
    }

    @Test("a secret key file readable by group or others is refused with a chmod hint")
    func secretFileMode() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try CurveKeyFiles.write(try CurveKeyPair.generate(), directory: directory, name: "a")
        for loose in [0o640, 0o604, 0o644] {
            try FileManager.default.setAttributes([.posixPermissions: loose], ofItemAtPath: files.secretFile)
            guard case let .security(what, hint)? = error({ _ = try CurveKeyFiles.loadKeyPair(files.secretFile) })
            else { Issue.record("mode \(String(loose, radix: 8)) accepted"); continue }
            #expect(what.contains("readable by group or others") && hint.contains("chmod 600"))
        }
    }

    @Test("malformed key files and allow-lists name the file and line, with a hint",
          arguments: [
              ("secret-key abc\n", "has 3 characters"),
              ("public-key \(String(repeating: "~", count: 40))\n", "not a Z85 character"),
              ("# only a comment\n", "lacks a public-key line"),
              ("secret-key\n", "expected `public-key <Z85>`"),
          ])
    func malformedKeyFile(_ contents: String, _ expected: String) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bad.key"
        _ = FileManager.default.createFile(atPath: path, contents: Data(contents.utf8),
                                           attributes: [.posixPermissions: 0o600])
        guard case let .security(what, hint)? = error({ _ = try CurveKeyFiles.loadKeyPair(path) }) else {
            Issue.record("\(contents.debugDescription) accepted"); return
        }
        #expect(what.contains(expected) && what.contains(path), "\(what)")
        #expect(hint.contains("keygen"))
    }

    @Test("an allow-list parses names and comments; a bad line is reported with its number")
    func allowListParsing() throws {
        let a = try CurveKeyPair.generate().publicKey, b = try CurveKeyPair.generate().publicKey
        let list = try CurveAllowList(parsing: "# workers\n\n\(a.z85) worker-1\n  \(b.z85)\n", source: "allow")
        #expect(list.count == 2 && list.name(of: a) == "worker-1" && list.name(of: b) == "")
        #expect(try CurveAllowList(parsing: list.fileText, source: "again") == list)
        guard case let .security(what, _)? = error({ _ = try CurveAllowList(parsing: "\(a.z85)\nnot-a-key\n",
                                                                            source: "allow") })
        else { Issue.record("bad line accepted"); return }
        #expect(what.contains("allow line 2"))
    }

    @Test("a key pair whose halves do not match is refused")
    func mismatchedPair() throws {
        let a = try CurveKeyPair.generate(), b = try CurveKeyPair.generate()
        #expect(throws: TransportError.self) { try CurveKeyPair(publicKey: a.publicKey, secretKey: b.secretKey) }
        #expect(try CurveKeyPair(publicKey: a.publicKey, secretKey: a.secretKey) == a)
    }

    @Test("tcp needs CURVE, or insecure loopback on a loopback host only")
    func tcpPolicy() throws {
        let keys = try CurveKeyPair.generate()
        let server = TransportSecurity.curveServer(keys: keys, allowList: CurveAllowList())
        for endpoint in ["tcp://127.0.0.1:5555", "tcp://localhost:1", "tcp://[::1]:7", "tcp://127.3.2.1:0"] {
            #expect(error { try EndpointPolicy.check(endpoint, security: .insecureLoopback) } == nil, "\(endpoint)")
        }
        for endpoint in ["tcp://*:5555", "tcp://0.0.0.0:1", "tcp://192.168.1.4:9", "tcp://example.org:1",
                         "tcp://127.0.0.1.evil:1"] {
            let refusal = error { try EndpointPolicy.check(endpoint, security: .insecureLoopback) }
            guard case let .endpoint(_, hint)? = refusal
            else { Issue.record("\(endpoint) accepted in plaintext"); continue }
            #expect(hint.contains("CURVE"))
            #expect(error { try EndpointPolicy.check(endpoint, security: server) } == nil)
        }
        guard case let .endpoint(what, _)? = error({ try EndpointPolicy.check("tcp://127.0.0.1:1", security: .none) })
        else { Issue.record("plaintext tcp accepted without the explicit flag"); return }
        #expect(what.contains("without CURVE"))
        #expect(error { try EndpointPolicy.check("udp://x", security: .none) } != nil)
        #expect(error { try EndpointPolicy.check("inproc://x", security: .none) } == nil)
    }

    @Test("ipc endpoints: a missing directory is created 0700; a wider one or an abstract socket is refused")
    func ipcPolicy() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(error { try EndpointPolicy.check("ipc://\(directory)/new/sub/sock", security: .ipc) } == nil)
        #expect(try mode(directory + "/new/sub") == 0o700)
        try FileManager.default.createDirectory(atPath: directory + "/open", withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o755])
        guard case let .endpoint(what, hint)? = error({
            try EndpointPolicy.check("ipc://\(directory)/open/sock", security: .ipc)
        }) else { Issue.record("0755 ipc directory accepted"); return }
        #expect(what.contains("mode 755") && hint.contains("chmod 700"))
        #expect(error { try EndpointPolicy.check("ipc://@abstract", security: .ipc) } != nil)
    }

    @Test("ZMQTransport applies the policy before touching the network")
    func transportRefuses() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let options = TransportOptions(expectedRunID: nil, security: .insecureLoopback, log: { _ in })
        #expect(throws: TransportError.self) {
            _ = try ZMQTransport(context: context, role: .router(bind: "tcp://0.0.0.0:0"), options: options)
        }
        #expect(throws: TransportError.self) {
            _ = try ZMQTransport(context: context, role: .dealer(connect: "tcp://10.1.2.3:5555"),
                                 options: TransportOptions(expectedRunID: nil, log: { _ in }))
        }
    }
}
