import Crypto
import TestSupport
import Testing

@testable import SessionCache

@Suite("SHA256Digest: the cache's own SHA-256")
struct SHA256DigestTests {
    @Test("FIPS 180-4 examples: empty, abc, and the two-block message")
    func fipsExamples() {
        #expect(hex(SHA256Digest.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex(SHA256Digest.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            hex(SHA256Digest.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test("Equal to swift-crypto's SHA256 for every length from 0 to 300 and random contents")
    func matchesSwiftCrypto() {
        var random = SplitMix64(seed: 0x5A25_6D16)
        for length in 0...300 {
            let message = random.bytes(length)
            #expect(SHA256Digest.hash(message) == Array(SHA256.hash(data: message)), "length \(length)")
        }
    }
}
