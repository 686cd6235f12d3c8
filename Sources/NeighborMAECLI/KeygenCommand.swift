import ArgumentParser
import Comm

/// `neighbormae keygen`: a CURVE key pair for one process identity (coordinator or worker).
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a CURVE key pair: NAME.key (secret, mode 0600) and NAME.pub (share it).",
        discussion: """
            Servers admit the clients whose NAME.pub lines are in their allow-list file \
            (e.g. `cat worker-*.pub > allow-list`); clients need the server's NAME.pub.
            """)

    @Option(help: "Directory for the key files (created with mode 0700 if missing).")
    var out: String

    @Option(help: "Base name of the files, e.g. coordinator or worker-1.")
    var name: String

    func run() throws {
        do {
            let keys = try CurveKeyPair.generate()
            let files = try CurveKeyFiles.write(keys, directory: out, name: name)
            print("[keygen] wrote \(files.secretFile) (secret, 0600) and \(files.publicFile)")
            print("[keygen] public key \(keys.publicKey.z85)")
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
