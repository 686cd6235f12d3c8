import CGDAL

/// Process-wide GDAL set-up, done exactly once and thread-safely (a Swift `static let`).
///
/// Registers every driver and installs an error handler that keeps GDAL quiet on stderr: the
/// message of a failed call stays in GDAL's per-thread last-error slot, and `Raster` turns it
/// into an `EODataError`. This is the only global state of EOData, and it is GDAL's own.
enum GDALRuntime {
    private static let registered: Bool = {
        GDALAllRegister()
        CPLSetErrorHandler { _, _, _ in }
        return true
    }()

    /// Registers GDAL's drivers and error handler (once per process; cheap afterwards).
    static func ensureRegistered() {
        precondition(registered)
    }

    /// Clears the calling thread's last GDAL error before a call whose failure we report.
    static func resetError() {
        CPLErrorReset()
    }

    /// The calling thread's last GDAL error message, or `fallback` if GDAL left none.
    static func lastError(fallback: String) -> String {
        guard let message = CPLGetLastErrorMsg(), message.pointee != 0 else { return fallback }
        return String(cString: message)
    }
}
