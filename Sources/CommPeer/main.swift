import Comm
import Foundation

// `CommPeer`: the other process of the two-process transport tests and of the transport benchmark.
//
//   CommPeer serve  --bind EP --count N [--keys F.key --allow F] [--run-high H --run-low L]
//       ROUTER: prints `READY <endpoint>`, answers N ring chunks with the payload bytes + 1, exits 0.
//   CommPeer pull   --bind EP --size BYTES --count N [--keys F.key --allow F]
//       prints `READY <endpoint>`, receives N messages, prints `RESULT <bytes after the first> <seconds>`.
//   CommPeer push   --connect EP --size BYTES --count N [--keys F.key --server-key F.pub]
//       sends N ring chunks of BYTES zero-copy from one buffer.
//   CommPeer idle --connect EP [--run-high H --run-low L]
//       DEALER: sends one Leave, prints `SENT`, then sleeps 30 s (the heartbeat test stops it meanwhile).
//   CommPeer rogue --connect EP --socket dealer|push --mode stranger|plaintext|garbage --seconds S [...]
//       a hostile client for the reliability scenarios (RogueRole.swift).
//   CommPeer crc --size BYTES
//       prints `CRC32C <GB/s>` (the checksum both ends of a message compute over its payload), then the rates
//       of a plain copy, a copy followed by a CRC (by 16 KiB blocks) and the one-pass copy with CRC.
//   CommPeer keygen --out DIR --name NAME
//       writes NAME.key and NAME.pub like `neighbormae keygen` (the bench script needs no CLI build).
//
// Everything runs on the main thread inside `main()` (no top-level globals: notes pitfall 2).

func main() -> Int32 {
    let arguments = Array(CommandLine.arguments.dropFirst())
    guard let role = arguments.first else {
        FileHandle.standardError.write(Data("usage: CommPeer serve|pull|push --option value ...\n".utf8))
        return 2
    }
    do {
        let options = try PeerOptions(Array(arguments.dropFirst()))
        let context = try ZMQContext()
        defer { context.terminate() }
        switch role {
        case "serve": try serve(context, options)
        case "pull": try benchPull(context, options)
        case "push": try benchPush(context, options)
        case "idle": try idle(context, options)
        case "crc": try crcSpeed(options)
        case "rogue": try rogue(context, options)
        case "keygen": try CurveKeyFiles.write(try CurveKeyPair.generate(), directory: options.string("out"),
                                               name: options.string("name"))
        default: throw PeerFailure("unknown role \(role)")
        }
        return 0
    } catch {
        FileHandle.standardError.write(Data("[comm-peer] \(role): \(error)\n".utf8))
        return 1
    }
}

exit(main())
