import Foundation

/// A minimal PNG encoder for 8-bit RGB or grey images (reconstruction pictures, loss curves).
///
/// Pixel data goes into zlib "stored" (uncompressed) deflate blocks: no compression library is
/// needed and the files stay small enough at our picture sizes (a 768×512 RGB grid is ~1.2 MB).
/// Chunks carry the CRC-32 of the PNG specification; the zlib stream ends with Adler-32.
public enum PNGEncoder {
    /// Encodes `pixels` (row-major, `channels` bytes per pixel, 1 = grey, 3 = RGB).
    public static func encode(width: Int, height: Int, channels: Int, pixels: [UInt8]) -> Data {
        precondition(width > 0 && height > 0, "PNGEncoder: empty image \(width)×\(height)")
        precondition(channels == 1 || channels == 3, "PNGEncoder: \(channels) channels (1 or 3 supported)")
        precondition(pixels.count == width * height * channels,
                     "PNGEncoder: \(pixels.count) bytes for \(width)×\(height)×\(channels)")
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header.append(contentsOf: [8, channels == 3 ? 2 : 0, 0, 0, 0])   // depth, colour type, deflate, filter, no interlace
        appendChunk("IHDR", header, to: &png)

        // Each scanline starts with filter type 0 (none).
        var raw = [UInt8]()
        raw.reserveCapacity(height * (1 + width * channels))
        let stride = width * channels
        for row in 0..<height {
            raw.append(0)
            raw.append(contentsOf: pixels[(row * stride)..<((row + 1) * stride)])
        }
        appendChunk("IDAT", zlibStored(raw), to: &png)
        appendChunk("IEND", Data(), to: &png)
        return png
    }

    /// zlib stream of stored deflate blocks (≤ 65535 bytes each).
    static func zlibStored(_ bytes: [UInt8]) -> Data {
        var out = Data([0x78, 0x01])
        var offset = 0
        repeat {
            let length = min(65_535, bytes.count - offset)
            let final: UInt8 = offset + length == bytes.count ? 1 : 0
            out.append(final)
            out.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8),
                                    UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)])
            out.append(contentsOf: bytes[offset..<(offset + length)])
            offset += length
        } while offset < bytes.count
        out.appendBigEndian(adler32(bytes))
        return out
    }

    static func appendChunk(_ type: String, _ payload: Data, to png: inout Data) {
        png.appendBigEndian(UInt32(payload.count))
        let typed = Data(type.utf8) + payload
        png.append(typed)
        png.appendBigEndian(crc32(typed))
    }

    /// CRC-32 (ISO 3309 / PNG), reflected polynomial 0xEDB88320.
    static func crc32(_ bytes: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return crc ^ 0xFFFF_FFFF
    }

    static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for chunk in stride(from: 0, to: bytes.count, by: 5552) {     // largest run without overflow
            for byte in bytes[chunk..<min(chunk + 5552, bytes.count)] {
                a += UInt32(byte)
                b += a
            }
            a %= 65_521
            b %= 65_521
        }
        return b << 16 | a
    }
}

extension Data {
    mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)])
    }
}
