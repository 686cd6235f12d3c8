#if canImport(Glibc)
import Glibc
#endif

// MARK: - Writes the seed corpus: per sample body, a multi-frame, a single-frame and a body-mode input

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
            let bodySeed = FuzzFormat.serializeBody(type: body.type, step: step, body: body.packed())
            let wrapped = bodySeed.withUnsafeBytes { FuzzFormat.frames($0) }
            precondition((try? WireCodec.decode(frames: wrapped.frames, expectedRunID: FuzzFormat.runID)) != nil
                         || !payload.isEmpty, "body seed \(index) (\(body.type)) does not decode")
            write(bodySeed, to: name + ".body")
            written += 3
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
