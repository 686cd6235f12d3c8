import Foundation

// MARK: - The shells' clock

/// Milliseconds of the monotonic clock (never jumps with wall-clock changes); what the shells pass to the
/// state machines as `now`.
func monotonicMillis() -> Millis {
    Millis(DispatchTime.now().uptimeNanoseconds / 1_000_000)
}

/// Milliseconds since the Unix epoch (heartbeats carry it for humans; deadlines never use it).
func unixMillis() -> UInt64 {
    UInt64(max(0, Date().timeIntervalSince1970 * 1000))
}
