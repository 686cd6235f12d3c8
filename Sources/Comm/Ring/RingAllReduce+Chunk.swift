import Wire

// MARK: - Sending and receiving one chunk

extension RingAllReduce {
    /// A chunk ready to send: its payload planes (packed, lent zero-copy or copied) and wire width, or, for a
    /// next rank that takes payloads in place (`InPlaceSending`), `write`, which computes the payload into the
    /// area it is given and returns the frames it wrote there, their width and CRC32C.
    struct OutgoingChunk {
        var frames: [Frame]
        var width: UInt32
        var write: ((UnsafeMutableRawBufferPointer) -> (frames: [Range<Int>], width: UInt32, crc: UInt32))?

        init(frames: [Frame], width: UInt32) {
            self.frames = frames
            self.width = width
        }

        init(writing write: @escaping (UnsafeMutableRawBufferPointer) -> (frames: [Range<Int>], width: UInt32,
                                                                         crc: UInt32)) {
            frames = []
            width = 0
            self.write = write
        }
    }

    /// What a phase's chunks carry: the width their headers declare and the widths a receiver accepts. From
    /// the `RingElement` type; one run may use two (exact mode reduces `Int64` and gathers `Float`).
    struct ChunkElement {
        var wireBytes: UInt32
        var acceptedWireBytes: [UInt32]

        init<E: RingElement>(_: E.Type) {
            wireBytes = E.wireBytes
            acceptedWireBytes = E.acceptedWireBytes
        }

        private init(wireBytes: UInt32, acceptedWireBytes: [UInt32]) {
            self.wireBytes = wireBytes
            self.acceptedWireBytes = acceptedWireBytes
        }

        /// Exact mode's first reduce-scatter step: a rank's own contribution, as fixed point (5, 6 or 8 bytes)
        /// or as the floats it came from (4 bytes, converted by the receiver; `allReduceExact` of floats).
        static let exactContribution = ChunkElement(wireBytes: Int64.wireBytes,
                                                    acceptedWireBytes: [4] + Int64.acceptedWireBytes)
    }

    /// A received chunk not yet added or stored: its payload planes, wire width, range in the region and step.
    struct ArrivedChunk {
        var frames: [Frame]
        var width: UInt32
        var range: Range<Int>
        var planStep: RingPlan.Step
        /// The payload CRC32C the sender declared, when the transport left checking it to the ring
        /// (`PayloadCheckDeferring`); nil when the transport checked it.
        var uncheckedCRC: UInt32?

        /// Payload bytes of a block that `forEachBlock` checks and hands over while it is in L1 (with its target).
        static let checkedBlockBytes = 8 << 10
        /// Bytes of a block that `copyPayload` copies before handing it over (its copy stays in L1).
        static let copiedBlockBytes = 16 << 10

        /// The payload as planes (`RingPayload`), valid during `body`, read as it is: a caller checks an
        /// unchecked CRC itself (`forEachBlock`), or reads only a payload that was checked already.
        func withPayloadBytes<R>(_ body: (RingPayload) -> R) -> R {
            frames[0].withUnsafeBytes { first in
                guard frames.count > 1 else { return body(RingPayload(first: first)) }
                return frames[1].withUnsafeBytes { second in body(RingPayload(first: first, second: second)) }
            }
        }

        /// Hands the payload to `body` block by block (element range within the chunk, and those elements'
        /// bytes in each plane), checking an unchecked CRC over each block just before `body` reads it from
        /// cache: the planes' CRCs run side by side and are joined at the end (`crc32cCombine`). Throws after
        /// the last block if the CRC differs, so everything `body` wrote is then garbage. A payload the
        /// transport checked goes to `body` whole, in one call.
        func forEachBlock(_ body: (Range<Int>, RingPayload) -> Void) throws(PayloadMismatch) {
            guard let declared = uncheckedCRC else {
                withPayloadBytes { body(0..<range.count, $0) }
                return
            }
            let count = range.count
            let actual = withPayloadBytes { whole in
                let firstWidth = count == 0 ? 0 : whole.first.count / count
                let secondWidth = count == 0 ? 0 : whole.second.count / count
                let perBlock = max(1, Self.checkedBlockBytes / max(1, firstWidth + secondWidth))
                var first: UInt32 = 0, second: UInt32 = 0
                for start in stride(from: 0, to: count, by: perBlock) {
                    let end = min(start + perBlock, count)
                    let block = RingPayload(
                        first: UnsafeRawBufferPointer(rebasing: whole.first[(start * firstWidth)..<(end * firstWidth)]),
                        second: UnsafeRawBufferPointer(rebasing:
                                    whole.second[(start * secondWidth)..<(end * secondWidth)]))
                    first = crc32c(block.first, seed: first)
                    if secondWidth > 0 { second = crc32c(block.second, seed: second) }
                    body(start..<end, block)
                }
                return secondWidth > 0 ? crc32cCombine(first, second, secondLength: whole.second.count) : first
            }
            guard actual == declared else { throw PayloadMismatch(declared: declared, actual: actual) }
        }

        /// Copies a one-plane payload to `target` (as many bytes), checking an unchecked CRC in the same pass
        /// (`crc32cCopying`); throws afterwards if it differs. With `afterBlock`, copies in blocks of
        /// `copiedBlockBytes` and hands each block's element range to it right after the block was copied, while
        /// it is in L1 (a chunk copied whole has left L2 again by its end).
        func copyPayload(to target: UnsafeMutableRawBufferPointer,
                         afterBlock: ((Range<Int>) -> Void)? = nil) throws(PayloadMismatch) {
            precondition(frames.count == 1 && frames[0].count == target.count, "copyPayload: \(range) does not fit")
            let elementBytes = Int(width), count = range.count
            let perBlock = afterBlock == nil ? max(count, 1) : max(1, Self.copiedBlockBytes / elementBytes)
            let actual = frames[0].withUnsafeBytes { bytes in
                var crc: UInt32 = 0
                for start in stride(from: 0, to: count, by: perBlock) {
                    let end = min(start + perBlock, count)
                    let source = UnsafeRawBufferPointer(rebasing: bytes[(start * elementBytes)..<(end * elementBytes)])
                    let destination = target.baseAddress! + start * elementBytes
                    if uncheckedCRC != nil, let copied = crc32cCopying(source, to: destination, seed: crc) {
                        crc = copied
                    } else {   // the transport checked the CRC, or this CPU has no one-pass copy
                        destination.copyMemory(from: source.baseAddress!, byteCount: source.count)
                        if uncheckedCRC != nil {
                            crc = crc32c(UnsafeRawBufferPointer(start: destination, count: source.count), seed: crc)
                        }
                    }
                    afterBlock?(start..<end)
                }
                return crc
            }
            if let declared = uncheckedCRC, actual != declared {
                throw PayloadMismatch(declared: declared, actual: actual)
            }
        }
    }

    /// A received payload whose CRC32C differs from the one its sender declared.
    struct PayloadMismatch: Error {
        var declared: UInt32
        var actual: UInt32
    }

    /// The payload of `region[range]`: packed narrower when the element type can (exact mode), else lent
    /// zero-copy when `options.zeroCopy`, else copied. A lent range must stay unchanged until released.
    func prepareChunk<E: RingElement>(_ region: UnsafeBufferPointer<E>, range: Range<Int>) -> OutgoingChunk {
        let values = UnsafeBufferPointer(rebasing: region[range])
        if let packed = E.packedForWire(values) { return OutgoingChunk(frames: packed.frames, width: packed.width) }
        let bytes = UnsafeRawBufferPointer(values)
        guard options.zeroCopy else { return OutgoingChunk(frames: [Frame(copying: bytes)], width: E.wireBytes) }
        return OutgoingChunk(frames: [lend(bytes)], width: E.wireBytes)
    }

    /// A zero-copy frame over `bytes`, counted in the ledger until libzmq releases it.
    func lend(_ bytes: UnsafeRawBufferPointer) -> Frame {
        ledger.lend()
        let ledger = self.ledger
        return Frame(lending: bytes) { ledger.release() }
    }

    /// Sends a prepared chunk of `range` to the next rank.
    func sendChunk(_ chunk: OutgoingChunk, as element: ChunkElement, range: Range<Int>, segment: Int,
                   chunkIndex: Int, planStep: RingPlan.Step, context: ChunkContext) throws(CollectiveFailed) {
        var header = chunkHeader(element, range: range, segment: segment, chunkIndex: chunkIndex,
                                 planStep: planStep, context: context)
        header.elementBytes = chunk.width
        let envelope = Envelope(type: .ringChunkHeader, runID: options.runID,
                                membershipEpoch: options.membershipEpoch, step: context.step,
                                sequence: nextSequence())
        do throws(TransportError) {
            if let write = chunk.write {
                try inPlaceNext!.send(envelope, timeout: options.timeout) { area in
                    let written = write(area)
                    header.elementBytes = written.width
                    return InPlacePayload(body: .ringChunkHeader(header), frames: written.frames, crc: written.crc)
                }
                count { $0.chunksWrittenInPlace += 1 }
            } else {
                try next!.send(envelope, body: .ringChunkHeader(header), payload: chunk.frames, to: nil,
                               timeout: options.timeout)
            }
        } catch {
            writtenFromCorruptPayload = nil   // this failure is reported instead
            throw failure(reason(for: error, sending: true), step: context.step, bucket: context.bucket,
                          phase: planStep.phase, ringStep: planStep.ringStep)
        }
        count { $0.chunksSent += 1; $0.bytesSent += range.count * Int(header.elementBytes) }
        if let (mismatch, arrivedStep) = writtenFromCorruptPayload {   // found while writing in place
            writtenFromCorruptPayload = nil
            count { $0.corruptPayloads += 1 }
            throw failure(.corruptPayload(declared: mismatch.declared, actual: mismatch.actual), step: context.step,
                          bucket: context.bucket, phase: arrivedStep.phase, ringStep: arrivedStep.ringStep)
        }
    }

    /// Receives the chunk that matches `range`, dropping (and counting) anything else, until the deadline.
    func receiveChunk(_ element: ChunkElement, range: Range<Int>, segment: Int, chunkIndex: Int,
                      planStep: RingPlan.Step, context: ChunkContext)
        throws(CollectiveFailed) -> (frames: [Frame], width: UInt32, uncheckedCRC: UInt32?) {
        let expected = chunkHeader(element, range: range, segment: segment, chunkIndex: chunkIndex,
                                   planStep: planStep, context: context)
        let deadline = ContinuousClock.now + options.timeout
        while true {
            let remaining = deadline - ContinuousClock.now
            let received: ReceivedMessage?
            do throws(TransportError) {
                received = remaining > .zero ? try receiveMessage(timeout: remaining) : nil
            } catch {
                throw failure(reason(for: error, sending: false), step: context.step, bucket: context.bucket,
                              phase: planStep.phase, ringStep: planStep.ringStep)
            }
            guard let message = received?.message else {
                throw failure(.receiveTimeout(waited: options.timeout), step: context.step, bucket: context.bucket,
                              phase: planStep.phase, ringStep: planStep.ringStep)
            }
            if let accepted = accept(message, expected: expected, widths: element.acceptedWireBytes,
                                     step: context.step) {
                count { $0.chunksReceived += 1 }
                let unchecked = deferringPrevious == nil ? nil : message.envelope.payloadCRC32C
                return (accepted.frames, accepted.width, unchecked)
            }
        }
    }

    /// The previous rank's next message. Its payload CRC is left to `take` (which reads the whole payload
    /// anyway) when the transport can leave it (`PayloadCheckDeferring`).
    private func receiveMessage(timeout: Duration) throws(TransportError) -> ReceivedMessage? {
        if let deferringPrevious { return try deferringPrevious.receiveLeavingPayloadCheck(timeout: timeout) }
        return try previous!.receive(timeout: timeout)
    }

    /// The chunk's frames and wire width if `message` is exactly the expected chunk (at any width in
    /// `widths`, with the planes of that width: `RingPayload.planeBytes`); otherwise counts and logs the drop.
    private func accept(_ message: WireMessage<Frame>, expected: RingChunkHeader, widths: [UInt32],
                        step: UInt64) -> (frames: [Frame], width: UInt32)? {
        guard message.envelope.type == .ringChunkHeader, case let .ringChunkHeader(header) = message.body else {
            count { $0.foreignDropped += 1 }
            options.log("[ring] rank \(rank): dropped a \(message.envelope.type) message on the ring socket")
            return nil
        }
        let envelope = message.envelope
        guard envelope.membershipEpoch == options.membershipEpoch, envelope.step == step else {
            count { $0.staleDropped += 1 }
            options.log("[ring] rank \(rank): dropped a stale chunk (epoch \(envelope.membershipEpoch), "
                        + "step \(envelope.step); expected \(options.membershipEpoch), \(step))")
            return nil
        }
        var sameChunk = header
        sameChunk.elementBytes = expected.elementBytes
        guard sameChunk == expected, widths.contains(header.elementBytes),
              message.payload.map(\.count) == RingPayload.planeBytes(width: header.elementBytes,
                                                                     count: Int(expected.elementCount)) else {
            count { $0.mismatchedDropped += 1 }
            options.log("[ring] rank \(rank): dropped a misplaced chunk \(header) with planes "
                        + "\(message.payload.map(\.count)); expected \(expected)")
            return nil
        }
        return (message.payload, header.elementBytes)
    }

    private func chunkHeader(_ element: ChunkElement, range: Range<Int>, segment: Int, chunkIndex: Int,
                             planStep: RingPlan.Step, context: ChunkContext) -> RingChunkHeader {
        RingChunkHeader(phase: planStep.phase, ringStep: UInt32(planStep.ringStep), segment: UInt32(segment),
                        chunkIndex: UInt32(chunkIndex), elementOffset: UInt64(context.base + range.lowerBound),
                        elementCount: UInt64(range.count), elementBytes: element.wireBytes,
                        bucket: UInt32(context.bucket))
    }

    private func reason(for error: TransportError, sending: Bool) -> CollectiveFailed.Reason {
        switch error {
        case .timeout: sending ? .sendTimeout(waited: options.timeout) : .receiveTimeout(waited: options.timeout)
        case .peerUnreachable, .closed: .peerGone(error)
        default: .transport(error)
        }
    }
}
