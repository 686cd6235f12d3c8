// MARK: - Codes of the Error messages the coordinator sends

/// `ErrorReport.code` values (the text says the same for humans).
public enum ErrorCode {
    /// The peer is not (or no longer) a member; it should send Join again.
    public static let notAMember: UInt32 = 1
    /// Join refused: the build differs from the coordinator's.
    public static let buildMismatch: UInt32 = 2
    /// Join refused: the dataset differs from the coordinator's.
    public static let datasetMismatch: UInt32 = 3
    /// Join refused: the run has finished.
    public static let runFinished: UInt32 = 4
}
