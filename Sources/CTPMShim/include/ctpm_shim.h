#ifndef LATCHKEY_CTPM_SHIM_H
#define LATCHKEY_CTPM_SHIM_H

#include <stddef.h>
#include <stdint.h>

// Why this shim exists:
// 1. latchkey loads tpm2-tss (libtss2-esys.so.0, libtss2-tctildr.so.0,
//    libtss2-mu.so.0, libtss2-rc.so.0 from Debian's libtss2-dev) with dlopen
//    the first time a command uses the TPM, so no other command pays for
//    mapping them (and their OpenSSL) at start-up.
// 2. ESAPI's structures (TPM2B_PUBLIC, TPMT_SYM_DEF, sessions, handles) are
//    large C unions; building them here keeps every C type below the TPM
//    module. Swift sees byte buffers, a few integers and one opaque handle.
// The operations are exactly what latchkey needs: make an HMAC key from a
// seed under the owner hierarchy's primary storage key, and run TPM2_HMAC
// with it. Both go over a salted session that encrypts the first command and
// response parameters (the seed, the HMAC), so neither is in clear on the bus.

typedef struct latchkey_tpm latchkey_tpm;

// What failed: the TSS2_RC, the tpm2-tss function that returned it, and
// tpm2-tss's own text for it (Tss2_RC_Decode).
typedef struct latchkey_tpm_error {
    uint32_t rc;
    char function[48];
    char text[256];
} latchkey_tpm_error;

// Return values: 0 success, LATCHKEY_TPM_FAILED (details in the error), or:
#define LATCHKEY_TPM_FAILED 1
#define LATCHKEY_TPM_NO_LIBRARY (-1)
#define LATCHKEY_TPM_NO_MEMORY (-2)
#define LATCHKEY_TPM_BAD_ARGUMENT (-3)

// The largest marshalled TPM2B_PUBLIC and TPM2B_PRIVATE this shim writes.
#define LATCHKEY_TPM_BLOB_MAX 1024

// Connects through the TCTI loader: `tcti` is a TCTI configuration string
// ("device:/dev/tpmrm0", "swtpm:host=127.0.0.1,port=2321"). The primary key
// and the session are made on first use and flushed by latchkey_tpm_close:
// the primary is ECC P-256, or RSA-2048 on a TPM without ECC P-256.
int latchkey_tpm_open(const char *tcti, latchkey_tpm **tpm, latchkey_tpm_error *error);

// Makes the primary from the RSA-2048 template even when the TPM has ECC
// P-256 (LATCHKEY_TPM_PRIMARY=rsa2048). Call before the first key operation.
void latchkey_tpm_use_rsa_primary(latchkey_tpm *tpm);

// Flushes what was loaded, finalizes ESAPI and the TCTI. NULL is allowed.
void latchkey_tpm_close(latchkey_tpm *tpm);

// TPM2_Create of a keyed-hash HMAC key under the primary: `seed` is its
// sensitive data (at most 128 bytes), `hash_alg` the scheme's hash
// (TPM2_ALG_SHA1 0x0004, SHA256 0x000B, SHA512 0x000D), `auth` its
// authValue (at most 32 bytes; empty: no PIN, and noDA is set so another
// key's lockout does not stop it). Writes the marshalled TPM2B_PUBLIC and
// TPM2B_PRIVATE (the TSS format tpm2_load -u/-r reads).
int latchkey_tpm_create_hmac_key(latchkey_tpm *tpm, uint16_t hash_alg,
                                 const uint8_t *seed, size_t seed_length,
                                 const uint8_t *auth, size_t auth_length,
                                 uint8_t *public_blob, size_t *public_length,
                                 uint8_t *private_blob, size_t *private_length,
                                 latchkey_tpm_error *error);

// TPM2_Load of the blobs under the primary, TPM2_HMAC of `message` (at most
// 1024 bytes) with the key's own hash, TPM2_FlushContext. Writes the HMAC
// into `mac` (room for 64 bytes) and its length.
int latchkey_tpm_hmac(latchkey_tpm *tpm,
                      const uint8_t *public_blob, size_t public_length,
                      const uint8_t *private_blob, size_t private_length,
                      const uint8_t *auth, size_t auth_length,
                      const uint8_t *message, size_t message_length,
                      uint8_t *mac, size_t *mac_length,
                      latchkey_tpm_error *error);

// TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES): one fixed or variable
// property's value (TPM2_PT_MANUFACTURER 0x105, TPM2_PT_FIRMWARE_VERSION_1
// 0x10B, TPM2_PT_LOCKOUT_COUNTER 0x20E, TPM2_PT_MAX_AUTH_FAIL 0x20F,
// TPM2_PT_LOCKOUT_INTERVAL 0x210, ...). Fails with rc 0 when the TPM does
// not report it.
int latchkey_tpm_property(latchkey_tpm *tpm, uint32_t property, uint32_t *value, latchkey_tpm_error *error);

// TPM2_GetCapability(TPM_CAP_ALGS): whether the TPM implements `alg`.
int latchkey_tpm_has_algorithm(latchkey_tpm *tpm, uint16_t alg, int *present, latchkey_tpm_error *error);

#endif
