#if canImport(Glibc)
import Glibc
#endif

// MARK: - Writes the seed corpus: one valid multipart message per sample body (both run-id modes)

@main
struct GenerateSeeds {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count == 2 else {
            print("usage: wire-seeds <corpus dir>")
            return
        }
        var written = 0
        for (index, body) in FuzzSamples.bodies.enumerated() {
            let payload = FuzzSamples.payload(for: body)
            let step: UInt64 = switch body {
            case let .stepPlan(plan): plan.step
            case let .stepDone(done): done.step
            case let .commit(commit): commit.step
            case let .abort(abort): abort.step
            default: 0
            }
            let envelope = Envelope(type: body.type, runID: FuzzFormat.runID, membershipEpoch: 2, step: step,
                                    sequence: UInt64(index))
            let frames = [WireCodec.encode(envelope, body: body, payload: payload)] + payload
            precondition((try? WireCodec.decode(frames: frames, expectedRunID: FuzzFormat.runID)) != nil,
                         "seed \(index) (\(body.type)) does not decode")
            let name = "\(arguments[1])/\(String(index, radix: 10))-\(body.type)"
            write(FuzzFormat.serialize(frames, expectRun: true), to: name + ".multi")
            write([0] + frames[0], to: name + ".single")
            written += 2
        }
        print("[wire-seeds] wrote \(written) seeds to \(arguments[1])")
    }

    static func write(_ bytes: [UInt8], to path: String) {
        guard let file = fopen(path, "wb") else { fatalError("cannot open \(path)") }
        defer { fclose(file) }
        precondition(bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) } == bytes.count,
                     "short write to \(path)")
    }
}
