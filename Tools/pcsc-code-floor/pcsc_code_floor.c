// The floor for one YubiKey code through pcscd: what any client must do at
// least. Connects to the named reader, sends SELECT of the OATH applet and
// one CALCULATE (truncated, P2=01) of the TOTP account NAME at the current
// 30-second step, and prints the code. No password, no LIST, no touch
// prompt, no error messages worth the name: scripts/bench compares
// `latchkey code NAME --yubikey` with this.
//
//   cc -O2 -o pcsc-code-floor pcsc_code_floor.c $(pkg-config --cflags --libs libpcsclite)
//   pcsc-code-floor 'Virtual PCD 00 00' aws
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <winscard.h>

static int transmit(SCARDHANDLE card, const BYTE *command, DWORD length, BYTE *answer, DWORD *answer_length) {
    return SCardTransmit(card, SCARD_PCI_T1, command, length, NULL, answer, answer_length) == SCARD_S_SUCCESS
        && *answer_length >= 2 && answer[*answer_length - 2] == 0x90 && answer[*answer_length - 1] == 0x00;
}

int main(int argc, char **argv) {
    if (argc != 3 || strlen(argv[2]) > 64) {
        fprintf(stderr, "usage: pcsc-code-floor READER NAME\n");
        return 64;
    }
    SCARDCONTEXT context;
    SCARDHANDLE card;
    DWORD protocol;
    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &context) != SCARD_S_SUCCESS) return 13;
    if (SCardConnect(context, argv[1], SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &card, &protocol) != SCARD_S_SUCCESS) return 13;

    BYTE answer[512];
    DWORD answer_length = sizeof answer;
    const BYTE select[] = {0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0x00, 0x00, 0x05, 0x27, 0x21, 0x01};
    if (!transmit(card, select, sizeof select, answer, &answer_length)) return 13;

    // CALCULATE: 71 NAME, 74 08 step (big-endian), P2=01 for the truncated code.
    size_t name_length = strlen(argv[2]);
    uint64_t step = (uint64_t)time(NULL) / 30;
    BYTE command[5 + 2 + 64 + 10];
    size_t n = 0;
    command[n++] = 0x00; command[n++] = 0xA2; command[n++] = 0x00; command[n++] = 0x01;
    command[n++] = (BYTE)(2 + name_length + 10);
    command[n++] = 0x71; command[n++] = (BYTE)name_length;
    memcpy(command + n, argv[2], name_length); n += name_length;
    command[n++] = 0x74; command[n++] = 0x08;
    for (int i = 7; i >= 0; i--) command[n++] = (BYTE)(step >> (8 * i));
    answer_length = sizeof answer;
    if (!transmit(card, command, (DWORD)n, answer, &answer_length)) return 13;

    // 76 05 DIGITS b0 b1 b2 b3
    if (answer_length < 9 || answer[0] != 0x76 || answer[1] != 0x05) return 13;
    uint32_t value = ((uint32_t)(answer[3] & 0x7F) << 24) | ((uint32_t)answer[4] << 16) | ((uint32_t)answer[5] << 8) | answer[6];
    int digits = answer[2];
    uint32_t modulus = 1;
    for (int i = 0; i < digits && i < 9; i++) modulus *= 10;
    printf("%0*u\n", digits, value % modulus);
    SCardDisconnect(card, SCARD_LEAVE_CARD);
    SCardReleaseContext(context);
    return 0;
}
