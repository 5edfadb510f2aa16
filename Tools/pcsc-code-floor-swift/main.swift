// The Swift floor for one YubiKey code through pcscd: the C client's calls
// (Tools/pcsc-code-floor), no more, made from a static Swift program. Where
// `bench-floor` measures what starting Swift costs, this one measures what a
// Swift program that makes exactly the C client's calls costs, so
// scripts/bench can split latchkey's distance from the C client into
// Swift's share and latchkey's own.
//
//   pcsc-code-floor-swift 'Virtual PCD 00 00' aws
import CPCSCLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Sends `command`, and answers the response without its status word when
/// the card said 90 00.
func transmit(_ card: SCARDHANDLE, _ command: [UInt8]) -> [UInt8]? {
    var answer = [UInt8](repeating: 0, count: 512)
    var length = DWORD(answer.count)
    guard SCardTransmit(card, latchkey_pci_t1(), command, DWORD(command.count), nil, &answer, &length) == SCARD_S_SUCCESS,
        length >= 2, answer[Int(length) - 2] == 0x90, answer[Int(length) - 1] == 0x00
    else { return nil }
    return Array(answer[..<(Int(length) - 2)])
}

let arguments = CommandLine.arguments
guard arguments.count == 3, arguments[2].utf8.count <= 64 else {
    let usage = "usage: pcsc-code-floor-swift READER NAME\n"
    _ = usage.withCString { write(2, $0, strlen($0)) }
    exit(64)
}
var context: SCARDCONTEXT = 0
var card: SCARDHANDLE = 0
var active: DWORD = 0
guard SCardEstablishContext(DWORD(SCARD_SCOPE_SYSTEM), nil, nil, &context) == SCARD_S_SUCCESS,
    SCardConnect(context, arguments[1], DWORD(SCARD_SHARE_SHARED), DWORD(SCARD_PROTOCOL_T1), &card, &active)
        == SCARD_S_SUCCESS,
    transmit(card, [0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0x00, 0x00, 0x05, 0x27, 0x21, 0x01]) != nil
else { exit(13) }

// CALCULATE: 71 NAME, 74 08 step (big-endian), P2=01 for the truncated code.
let name = Array(arguments[2].utf8)
let step = UInt64(time(nil)) / 30
var command: [UInt8] = [0x00, 0xA2, 0x00, 0x01, UInt8(2 + name.count + 10), 0x71, UInt8(name.count)]
command += name
command += [0x74, 0x08]
for shift in stride(from: 56, through: 0, by: -8) { command.append(UInt8(truncatingIfNeeded: step >> UInt64(shift))) }

// 76 05 DIGITS b0 b1 b2 b3
guard let answer = transmit(card, command), answer.count >= 7, answer[0] == 0x76, answer[1] == 0x05 else { exit(13) }
let digits = Int(answer[2])
let value = answer[3...6].reduce(UInt32(0)) { ($0 << 8) | UInt32($1) } & 0x7FFF_FFFF
var modulus: UInt32 = 1
for _ in 0..<min(digits, 9) { modulus *= 10 }
let text = String(value % modulus)
print(String(repeating: "0", count: max(0, digits - text.count)) + text)
SCardDisconnect(card, DWORD(SCARD_LEAVE_CARD))
SCardReleaseContext(context)
