import PCSC
import TestSupport
import Testing
import YubiKey

/// What pcscd shows another program while latchkey has found the key.
@Suite("A key found by latchkey is held from its SELECT until it is closed")
struct ExclusiveAccessTests {
    @Test("Another program waits while latchkey holds the key after its SELECT, and gets in once the key is closed")
    func heldFromSelect() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        let binary = try #require(LatchkeyOnKeyTests.latchkey, "latchkey was not built beside the tests")
        try await session.withKey {
            let added = try await LatchkeyOnKeyTests.latchkey(
                home: session.home, ["accounts", "add", "held", "--yubikey"], input: LatchkeyOnKeyTests.randomBase32())
            #expect(added.status == 0, "\(added)")

            // latchkey's side: the key found, its OATH applet selected, no
            // command since. Before the transaction began at the SELECT,
            // another program could come in here and select another applet.
            var key: FoundKey? = try KeyFinder.find(filter: VirtualKeySession.reader, context: PCSCContext())
            #expect(key?.reader == VirtualKeySession.reader)
            let environment = ["HOME": session.home, "LATCHKEY_READER": VirtualKeySession.reader]
            let waiting = try await runProgram("/usr/bin/timeout", ["2", binary, "code", "held", "--yubikey"], environment: environment, timeout: 30)
            #expect(waiting.status == 124, "the other program was not kept waiting: \(waiting)")
            #expect(key?.session.select.isPasswordProtected == false)  // (and held until here)

            key = nil  // closed: SCardDisconnect ends the transaction
            let after = try await runProgram(binary, ["code", "held", "--yubikey"], environment: environment, timeout: 30)
            #expect(after.status == 0, "\(after)")
            #expect(after.stdout.count == 7, "\(after)")
        }
    }
}
