import Wire

// MARK: - Receiving with the payload checksum left to the consumer

/// A transport that can hand over a message before its payload CRC32C was checked, for a consumer that
/// reads the whole payload anyway and checks the CRC in the same pass (the ring's adds and stores), instead
/// of the transport reading it once more just for the CRC.
///
/// Everything else is validated as by `receive` (header, run id, sizes, body); only the CRC pass is left out.
/// The consumer must compare `message.envelope.payloadCRC32C` with the CRC32C of the payload frames, in
/// order, and treat what it read as garbage when they differ. Every data-plane transport offers it: on the
/// shared-memory link, whose only copy is the sender's, a second pass over the payload would be a large part
/// of a transfer, and over sockets it reads a payload the I/O thread wrote out of cache once more.
public protocol PayloadCheckDeferring: Transport {
    /// As `receive(timeout:)`, without checking the payload's CRC32C (see the protocol).
    func receiveLeavingPayloadCheck(timeout: Duration) throws(TransportError) -> ReceivedMessage?
}
