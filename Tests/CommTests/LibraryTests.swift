import Comm
import Testing

@Suite("libzmq")
struct LibraryTests {
    @Test("libzmq 4.3 or newer with CURVE and ipc")
    func capabilities() {
        let version = zmqVersion()
        #expect(version.major > 4 || (version.major == 4 && version.minor >= 3))
        #expect(zmqHas("curve"))
        #expect(zmqHas("ipc"))
    }
}
