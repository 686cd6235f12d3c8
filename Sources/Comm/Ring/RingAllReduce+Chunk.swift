import Wire

// MARK: - Sending and receiving one chunk

extension RingAllReduce {
    /// A chunk ready to send: its payload planes (packed, lent zero-copy or copied) and wire width.
    struct OutgoingChunk {
        var frames: [Frame]
        var width: UInt32
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

        /// The payload as planes (`RingPayload`), valid during `body`.
        func withPayload<R>(_ body: (RingPayload) -> R) -> R {
            frames[0].withUnsafeBytes { first in
                guard frames.count > 1 else { return body(RingPayload(first: first)) }
                return frames[1].withUnsafeBytes { second in body(RingPayload(first: first, second: second)) }
            }
        }
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
            try next!.send(envelope, body: .ringChunkHeader(header), payload: chunk.frames, to: nil,
                           timeout: options.timeout)
        } catch {
            throw failure(reason(for: error, sending: true), step: context.step, bucket: context.bucket,
                          phase: planStep.phase, ringStep: planStep.ringStep)
        }
        count { $0.chunksSent += 1; $0.bytesSent += range.count * Int(chunk.width) }
    }

    /// Receives the chunk that matches `range`, dropping (and counting) anything else, until the deadline.
    func receiveChunk(_ element: ChunkElement, range: Range<Int>, segment: Int, chunkIndex: Int,
                      planStep: RingPlan.Step, context: ChunkContext)
        throws(CollectiveFailed) -> (frames: [Frame], width: UInt32) {
        let expected = chunkHeader(element, range: range, segment: segment, chunkIndex: chunkIndex,
                                   planStep: planStep, context: context)
        let deadline = ContinuousClock.now + options.timeout
        while true {
            let remaining = deadline - ContinuousClock.now
            let received: ReceivedMessage?
            do throws(TransportError) {
                received = remaining > .zero ? try previous!.receive(timeout: remaining) : nil
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
                return accepted
            }
        }
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
