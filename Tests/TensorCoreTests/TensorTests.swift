import Testing
import TensorCore

@Suite struct TensorTests {
    @Test func storageIsAlignedAndZeroed() {
        for count in [0, 1, 17, 4096] {
            let storage = FloatStorage(count: count)
            storage.withUnsafeBufferPointer { buffer in
                if let base = buffer.baseAddress {
                    #expect(Int(bitPattern: base) % FloatStorage.alignment == 0)
                }
                #expect(buffer.allSatisfy { $0 == 0 })
                #expect(buffer.count == count)
            }
        }
    }

    @Test func viewsShareMemoryAndCopiesDoNot() {
        let t = Tensor(shape: [3, 4], values: (0..<12).map(Float.init))
        #expect(t.strides == [4, 1])
        #expect(t[2, 1] == 9)
        let middle = t.rows(1..<3)
        #expect(middle.shape == [2, 4])
        #expect(middle.scalars == (4..<12).map(Float.init))
        middle[0, 0] = -1                     // writes through the view
        #expect(t[1, 0] == -1)
        let row = t[row: 2]
        #expect(row.shape == [4] && row.scalars == [8, 9, 10, 11])
        let flat = t.reshaped([12])
        #expect(flat[4] == -1)
        let independent = t.copy()
        independent[0, 0] = 42
        #expect(t[0, 0] == 0)
    }

    @Test func zeroSizedTensorsWork() {
        let empty = Tensor(zeros: [0, 5])
        #expect(empty.count == 0)
        #expect(empty.scalars.isEmpty)
        #expect(empty.rows(0..<0).count == 0)
    }
}
