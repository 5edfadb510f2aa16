import Testing

@testable import YubiKey

@Suite("--reader matching")
struct ReaderNameTests {
    @Test("A reader matches a part of its name in any case, Unicode included; nothing else matches")
    func matching() {
        #expect(ReaderName.contains("Yubico YubiKey OTP+FIDO+CCID 00 00", "yubikey otp"))
        #expect(ReaderName.contains("Virtual PCD 00 00", "PCD 00 00"))
        #expect(ReaderName.contains("Virtual PCD 00 00", ""))
        #expect(ReaderName.contains("Lecteur ÉCRAN 01", "écran"))
        #expect(!ReaderName.contains("Virtual PCD 00 00", "PCD 00 01"))
        #expect(!ReaderName.contains("PCD", "Virtual PCD"))
        #expect(!ReaderName.contains("", "a"))
    }
}
