import TestSupport
import Testing
import VirtualKey

@Suite("vpcd messages, the log and touch")
struct TransportTests {
    @Test("vpcd payloads: one byte is control (00 off, 01 on, 02 reset, 04 ATR), longer is an APDU")
    func messages() {
        #expect(VPCDMessage(payload: [0x00]) == .powerOff)
        #expect(VPCDMessage(payload: [0x01]) == .powerOn)
        #expect(VPCDMessage(payload: [0x02]) == .reset)
        #expect(VPCDMessage(payload: [0x04]) == .getATR)
        #expect(VPCDMessage(payload: [0x03]) == .unknownControl(0x03))
        #expect(VPCDMessage(payload: [0x00, 0xA4]) == .apdu([0x00, 0xA4]))
    }

    @Test("Frames carry a 2-byte big-endian length; payloads over 65535 bytes cannot be framed")
    func frames() {
        #expect(VPCDMessage.frame([0x90, 0x00]) == [0x00, 0x02, 0x90, 0x00])
        #expect(VPCDMessage.frame([UInt8](repeating: 1, count: 300))?.prefix(2) == [0x01, 0x2C])
        #expect(VPCDMessage.frame([UInt8](repeating: 1, count: 0x10000)) == nil)
        #expect(VPCDMessage.yubiKey5ATR.count == 23)
        #expect(VPCDMessage.yubiKey5ATR[1] & 0xF0 == 0xF0)
    }

    @Test("Instruction names: SELECT and CALCULATE ALL share A4 and differ by P1; unknown INS show their hex")
    func instructionNames() {
        #expect("\(Instruction(apdu: [0x00, 0xA4, 0x04, 0x00]))" == "SELECT")
        #expect("\(Instruction(apdu: [0x00, 0xA4, 0x00, 0x01]))" == "CALCULATE_ALL")
        #expect("\(Instruction(apdu: [0x00, 0xA5, 0x00, 0x00]))" == "SEND_REMAINING")
        #expect("\(Instruction(apdu: [0x00, 0x03, 0x00, 0x00]))" == "SET_CODE")
        #expect("\(Instruction(apdu: [0x00, 0xC0, 0x00, 0x00]))" == "UNKNOWN_C0")
        #expect("\(Instruction(apdu: [0x00]))" == "UNKNOWN_00")
    }

    @Test("A log line names the instruction, the header, a SELECT's AID and the status word, never PUT data")
    func logLines() {
        let select = InstructionLog.line(command: AppletFixture.selectOATH, response: [0x79, 0x03, 0x90, 0x00])
        #expect(select == "SELECT 00a40400 a0000005272101 9000")
        let put = InstructionLog.line(command: [0x00, 0x01, 0x00, 0x00, 0x03, 0x73, 0x01, 0x42], response: [0x90, 0x00])
        #expect(put == "PUT 00010000 9000")
    }

    @Test("Simulated touch: a delay waits that long and touches; never waits the timeout and does not")
    func simulatedTouch() {
        final class Waits { var seconds: [Double] = [] }
        let waits = Waits()
        let wait: (Double) -> Bool = { waits.seconds.append($0); return true }
        #expect(SimulatedTouch(policy: .after(seconds: 0), wait: wait).awaitTouch())
        #expect(SimulatedTouch(policy: .after(seconds: 2.5), wait: wait).awaitTouch())
        #expect(!SimulatedTouch(policy: .never(timeout: 3), wait: wait).awaitTouch())
        #expect(waits.seconds == [2.5, 3])
        #expect(!SimulatedTouch(policy: .after(seconds: 1), wait: { _ in false }).awaitTouch())
    }

    @Test("Hex decoding takes either case and spaces and refuses odd lengths and other characters")
    func hex() {
        #expect(Hex.decode("A0 00 0a") == [0xA0, 0x00, 0x0A])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.encode([0x00, 0xFF]) == "00ff")
    }
}
