#include "ctpm_shim.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

// The tpm2-tss functions latchkey uses, resolved once with dlsym.
static struct {
    int loaded;
    char missing[160];
    TSS2_RC (*tctildr_initialize)(const char *, TSS2_TCTI_CONTEXT **);
    void (*tctildr_finalize)(TSS2_TCTI_CONTEXT **);
    TSS2_RC (*initialize)(ESYS_CONTEXT **, TSS2_TCTI_CONTEXT *, TSS2_ABI_VERSION *);
    void (*finalize)(ESYS_CONTEXT **);
    TSS2_RC (*create_primary)(ESYS_CONTEXT *, ESYS_TR, ESYS_TR, ESYS_TR, ESYS_TR, const TPM2B_SENSITIVE_CREATE *,
                              const TPM2B_PUBLIC *, const TPM2B_DATA *, const TPML_PCR_SELECTION *, ESYS_TR *,
                              TPM2B_PUBLIC **, TPM2B_CREATION_DATA **, TPM2B_DIGEST **, TPMT_TK_CREATION **);
    TSS2_RC (*start_auth_session)(ESYS_CONTEXT *, ESYS_TR, ESYS_TR, ESYS_TR, ESYS_TR, ESYS_TR, const TPM2B_NONCE *,
                                  TPM2_SE, const TPMT_SYM_DEF *, TPMI_ALG_HASH, ESYS_TR *);
    TSS2_RC (*session_set_attributes)(ESYS_CONTEXT *, ESYS_TR, TPMA_SESSION, TPMA_SESSION);
    TSS2_RC (*create)(ESYS_CONTEXT *, ESYS_TR, ESYS_TR, ESYS_TR, ESYS_TR, const TPM2B_SENSITIVE_CREATE *,
                      const TPM2B_PUBLIC *, const TPM2B_DATA *, const TPML_PCR_SELECTION *, TPM2B_PRIVATE **,
                      TPM2B_PUBLIC **, TPM2B_CREATION_DATA **, TPM2B_DIGEST **, TPMT_TK_CREATION **);
    TSS2_RC (*load)(ESYS_CONTEXT *, ESYS_TR, ESYS_TR, ESYS_TR, ESYS_TR, const TPM2B_PRIVATE *, const TPM2B_PUBLIC *,
                    ESYS_TR *);
    TSS2_RC (*set_auth)(ESYS_CONTEXT *, ESYS_TR, const TPM2B_AUTH *);
    TSS2_RC (*hmac)(ESYS_CONTEXT *, ESYS_TR, ESYS_TR, ESYS_TR, ESYS_TR, const TPM2B_MAX_BUFFER *, TPMI_ALG_HASH,
                    TPM2B_DIGEST **);
    TSS2_RC (*flush_context)(ESYS_CONTEXT *, ESYS_TR);
    TSS2_RC (*get_capability)(ESYS_CONTEXT *, ESYS_TR, ESYS_TR, ESYS_TR, TPM2_CAP, UINT32, UINT32, TPMI_YES_NO *,
                              TPMS_CAPABILITY_DATA **);
    void (*free)(void *);
    TSS2_RC (*public_marshal)(const TPM2B_PUBLIC *, uint8_t[], size_t, size_t *);
    TSS2_RC (*public_unmarshal)(const uint8_t[], size_t, size_t *, TPM2B_PUBLIC *);
    TSS2_RC (*private_marshal)(const TPM2B_PRIVATE *, uint8_t[], size_t, size_t *);
    TSS2_RC (*private_unmarshal)(const uint8_t[], size_t, size_t *, TPM2B_PRIVATE *);
    const char *(*decode)(TSS2_RC);
} tss;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void *open_library(const char *name) {
    void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!handle) snprintf(tss.missing, sizeof(tss.missing), "%s could not be loaded", name);
    return handle;
}

static void load_tss(void) {
    // tpm2-tss logs warnings to stderr by default; latchkey reports failures
    // itself, in one line. TSS2_LOG set by the person still wins.
    setenv("TSS2_LOG", "all+NONE", 0);
    void *esys = open_library("libtss2-esys.so.0");
    void *tctildr = esys ? open_library("libtss2-tctildr.so.0") : NULL;
    void *mu = tctildr ? open_library("libtss2-mu.so.0") : NULL;
    void *rc = mu ? open_library("libtss2-rc.so.0") : NULL;
    if (!rc) return;
#define RESOLVE(library, field, symbol)                                                    \
    if (!(*(void **)(&tss.field) = dlsym(library, symbol))) {                              \
        snprintf(tss.missing, sizeof(tss.missing), "tpm2-tss has no %s (too old?)", symbol); \
        return;                                                                            \
    }
    RESOLVE(tctildr, tctildr_initialize, "Tss2_TctiLdr_Initialize")
    RESOLVE(tctildr, tctildr_finalize, "Tss2_TctiLdr_Finalize")
    RESOLVE(esys, initialize, "Esys_Initialize")
    RESOLVE(esys, finalize, "Esys_Finalize")
    RESOLVE(esys, create_primary, "Esys_CreatePrimary")
    RESOLVE(esys, start_auth_session, "Esys_StartAuthSession")
    RESOLVE(esys, session_set_attributes, "Esys_TRSess_SetAttributes")
    RESOLVE(esys, create, "Esys_Create")
    RESOLVE(esys, load, "Esys_Load")
    RESOLVE(esys, set_auth, "Esys_TR_SetAuth")
    RESOLVE(esys, hmac, "Esys_HMAC")
    RESOLVE(esys, flush_context, "Esys_FlushContext")
    RESOLVE(esys, get_capability, "Esys_GetCapability")
    RESOLVE(esys, free, "Esys_Free")
    RESOLVE(mu, public_marshal, "Tss2_MU_TPM2B_PUBLIC_Marshal")
    RESOLVE(mu, public_unmarshal, "Tss2_MU_TPM2B_PUBLIC_Unmarshal")
    RESOLVE(mu, private_marshal, "Tss2_MU_TPM2B_PRIVATE_Marshal")
    RESOLVE(mu, private_unmarshal, "Tss2_MU_TPM2B_PRIVATE_Unmarshal")
    RESOLVE(rc, decode, "Tss2_RC_Decode")
#undef RESOLVE
    tss.loaded = 1;
}

struct latchkey_tpm {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    ESYS_TR primary;
    ESYS_TR session;
    int force_rsa;
};

static int fail(latchkey_tpm_error *error, const char *function, TSS2_RC rc) {
    error->rc = rc;
    snprintf(error->function, sizeof(error->function), "%s", function);
    snprintf(error->text, sizeof(error->text), "%s", tss.loaded ? tss.decode(rc) : "");
    return LATCHKEY_TPM_FAILED;
}

static int fail_with(latchkey_tpm_error *error, int code, const char *text) {
    error->rc = 0;
    error->function[0] = 0;
    snprintf(error->text, sizeof(error->text), "%s", text);
    return code;
}

int latchkey_tpm_open(const char *tcti, latchkey_tpm **out, latchkey_tpm_error *error) {
    memset(error, 0, sizeof(*error));
    *out = NULL;
    pthread_once(&load_once, load_tss);
    if (!tss.loaded) return fail_with(error, LATCHKEY_TPM_NO_LIBRARY, tss.missing);
    latchkey_tpm *tpm = calloc(1, sizeof(*tpm));
    if (!tpm) return fail_with(error, LATCHKEY_TPM_NO_MEMORY, "out of memory");
    tpm->primary = ESYS_TR_NONE;
    tpm->session = ESYS_TR_NONE;
    TSS2_RC rc = tss.tctildr_initialize(tcti, &tpm->tcti);
    if (rc != TSS2_RC_SUCCESS) { free(tpm); return fail(error, "Tss2_TctiLdr_Initialize", rc); }
    rc = tss.initialize(&tpm->esys, tpm->tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        tss.tctildr_finalize(&tpm->tcti);
        free(tpm);
        return fail(error, "Esys_Initialize", rc);
    }
    *out = tpm;
    return 0;
}

void latchkey_tpm_use_rsa_primary(latchkey_tpm *tpm) {
    if (tpm) tpm->force_rsa = 1;
}

void latchkey_tpm_close(latchkey_tpm *tpm) {
    if (!tpm) return;
    if (tpm->session != ESYS_TR_NONE) tss.flush_context(tpm->esys, tpm->session);
    if (tpm->primary != ESYS_TR_NONE) tss.flush_context(tpm->esys, tpm->primary);
    tss.finalize(&tpm->esys);
    tss.tctildr_finalize(&tpm->tcti);
    free(tpm);
}

// The owner hierarchy's storage key from a fixed template, so the same TPM
// always gives the same key and nothing needs a persistent handle; then an
// HMAC session salted to it, with AES-128-CFB parameter encryption both ways.
// The template is tpm2_createprimary's (-C o -g sha256 -G ecc) plus noDA:
// its authValue is empty, so dictionary-attack protection guards nothing on
// it, and without noDA a lockout caused by any PIN would stop every key
// under it, PIN or not (tpm2_createprimary -a '…|noda' makes the same key).
// A TPM without ECC P-256 (TPM 2.0 makes RSA-2048 mandatory, ECC not) gets
// the RSA-2048 template (-G rsa2048) instead; the choice is the TPM's, so
// the same TPM always makes the same primary. Keys made under one primary
// load only under it.
static TSS2_RC create_primary(latchkey_tpm *tpm, int rsa) {
    TPM2B_SENSITIVE_CREATE sensitive = {0};
    TPMA_OBJECT attributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
                             TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                             TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
    TPMT_SYM_DEF_OBJECT aes = {.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB};
    TPM2B_PUBLIC template = {
        .publicArea = {
            .type = rsa ? TPM2_ALG_RSA : TPM2_ALG_ECC,
            .nameAlg = TPM2_ALG_SHA256,
            .objectAttributes = attributes,
        },
    };
    if (rsa) {
        template.publicArea.parameters.rsaDetail = (TPMS_RSA_PARMS){
            .symmetric = aes, .scheme = {.scheme = TPM2_ALG_NULL}, .keyBits = 2048, .exponent = 0,
        };
    } else {
        template.publicArea.parameters.eccDetail = (TPMS_ECC_PARMS){
            .symmetric = aes, .scheme = {.scheme = TPM2_ALG_NULL}, .curveID = TPM2_ECC_NIST_P256,
            .kdf = {.scheme = TPM2_ALG_NULL},
        };
    }
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    return tss.create_primary(tpm->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                              &sensitive, &template, &outside, &pcrs, &tpm->primary, NULL, NULL, NULL, NULL);
}

// Whether CreatePrimary's answer means "no ECC P-256 here": a TPM response
// (layer 0) in format 1 whose error is TPM_RC_ASYMMETRIC, TPM_RC_VALUE,
// TPM_RC_TYPE or TPM_RC_CURVE; or TPM_RC_CURVE/TPM_RC_ASYMMETRIC reported
// without a parameter number.
static int lacks_ecc(TSS2_RC rc) {
    if ((rc >> 16) != 0 || !(rc & 0x80)) return 0;
    switch (rc & 0x3F) {
    case 0x01: case 0x04: case 0x0A: case 0x26: return 1;
    default: return 0;
    }
}

static int prepare(latchkey_tpm *tpm, latchkey_tpm_error *error) {
    if (tpm->primary == ESYS_TR_NONE) {
        TSS2_RC rc = tpm->force_rsa ? TSS2_RC_SUCCESS : create_primary(tpm, 0);
        if (tpm->force_rsa || lacks_ecc(rc)) {
            tpm->primary = ESYS_TR_NONE;
            rc = create_primary(tpm, 1);
        }
        if (rc != TSS2_RC_SUCCESS) { tpm->primary = ESYS_TR_NONE; return fail(error, "Esys_CreatePrimary", rc); }
    }
    if (tpm->session == ESYS_TR_NONE) {
        TPMT_SYM_DEF symmetric = {.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB};
        TSS2_RC rc = tss.start_auth_session(tpm->esys, tpm->primary, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                            ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &symmetric, TPM2_ALG_SHA256,
                                            &tpm->session);
        if (rc != TSS2_RC_SUCCESS) { tpm->session = ESYS_TR_NONE; return fail(error, "Esys_StartAuthSession", rc); }
        TPMA_SESSION attributes = TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION;
        rc = tss.session_set_attributes(tpm->esys, tpm->session, attributes, 0xff);
        if (rc != TSS2_RC_SUCCESS) return fail(error, "Esys_TRSess_SetAttributes", rc);
    }
    return 0;
}

int latchkey_tpm_create_hmac_key(latchkey_tpm *tpm, uint16_t hash_alg,
                                 const uint8_t *seed, size_t seed_length,
                                 const uint8_t *auth, size_t auth_length,
                                 uint8_t *public_blob, size_t *public_length,
                                 uint8_t *private_blob, size_t *private_length,
                                 latchkey_tpm_error *error) {
    memset(error, 0, sizeof(*error));
    TPM2B_SENSITIVE_CREATE sensitive = {0};
    if (seed_length == 0 || seed_length > sizeof(sensitive.sensitive.data.buffer))
        return fail_with(error, LATCHKEY_TPM_BAD_ARGUMENT, "the seed must be 1 to 128 bytes");
    if (auth_length > 32)
        return fail_with(error, LATCHKEY_TPM_BAD_ARGUMENT, "the PIN must be at most 32 bytes");
    int status = prepare(tpm, error);
    if (status) return status;

    memcpy(sensitive.sensitive.data.buffer, seed, seed_length);
    sensitive.sensitive.data.size = (UINT16)seed_length;
    if (auth_length) memcpy(sensitive.sensitive.userAuth.buffer, auth, auth_length);
    sensitive.sensitive.userAuth.size = (UINT16)auth_length;
    TPMA_OBJECT attributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_USERWITHAUTH |
                             TPMA_OBJECT_SIGN_ENCRYPT;
    if (auth_length == 0) attributes |= TPMA_OBJECT_NODA;
    TPM2B_PUBLIC template = {
        .publicArea = {
            .type = TPM2_ALG_KEYEDHASH,
            .nameAlg = TPM2_ALG_SHA256,
            .objectAttributes = attributes,
            .parameters.keyedHashDetail.scheme = {.scheme = TPM2_ALG_HMAC, .details.hmac.hashAlg = hash_alg},
        },
    };
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    TPM2B_PRIVATE *made_private = NULL;
    TPM2B_PUBLIC *made_public = NULL;
    TSS2_RC rc = tss.create(tpm->esys, tpm->primary, tpm->session, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &template,
                            &outside, &pcrs, &made_private, &made_public, NULL, NULL, NULL);
    explicit_bzero(&sensitive, sizeof(sensitive));
    if (rc != TSS2_RC_SUCCESS) return fail(error, "Esys_Create", rc);

    size_t public_offset = 0, private_offset = 0;
    rc = tss.public_marshal(made_public, public_blob, LATCHKEY_TPM_BLOB_MAX, &public_offset);
    if (rc == TSS2_RC_SUCCESS) rc = tss.private_marshal(made_private, private_blob, LATCHKEY_TPM_BLOB_MAX, &private_offset);
    tss.free(made_private);
    tss.free(made_public);
    if (rc != TSS2_RC_SUCCESS) return fail(error, "Tss2_MU_TPM2B_Marshal", rc);
    *public_length = public_offset;
    *private_length = private_offset;
    return 0;
}

int latchkey_tpm_hmac(latchkey_tpm *tpm,
                      const uint8_t *public_blob, size_t public_length,
                      const uint8_t *private_blob, size_t private_length,
                      const uint8_t *auth, size_t auth_length,
                      const uint8_t *message, size_t message_length,
                      uint8_t *mac, size_t *mac_length,
                      latchkey_tpm_error *error) {
    memset(error, 0, sizeof(*error));
    TPM2B_MAX_BUFFER buffer = {0};
    TPM2B_AUTH key_auth = {0};
    if (message_length > sizeof(buffer.buffer))
        return fail_with(error, LATCHKEY_TPM_BAD_ARGUMENT, "the message is longer than 1024 bytes");
    if (auth_length > 32)
        return fail_with(error, LATCHKEY_TPM_BAD_ARGUMENT, "the PIN must be at most 32 bytes");
    TPM2B_PUBLIC in_public = {0};
    TPM2B_PRIVATE in_private = {0};
    size_t offset = 0;
    TSS2_RC rc = tss.public_unmarshal(public_blob, public_length, &offset, &in_public);
    if (rc != TSS2_RC_SUCCESS || offset != public_length)
        return fail(error, "Tss2_MU_TPM2B_PUBLIC_Unmarshal", rc ? rc : TSS2_MU_RC_BAD_SIZE);
    offset = 0;
    rc = tss.private_unmarshal(private_blob, private_length, &offset, &in_private);
    if (rc != TSS2_RC_SUCCESS || offset != private_length)
        return fail(error, "Tss2_MU_TPM2B_PRIVATE_Unmarshal", rc ? rc : TSS2_MU_RC_BAD_SIZE);
    int status = prepare(tpm, error);
    if (status) return status;

    ESYS_TR key = ESYS_TR_NONE;
    rc = tss.load(tpm->esys, tpm->primary, tpm->session, ESYS_TR_NONE, ESYS_TR_NONE, &in_private, &in_public, &key);
    if (rc != TSS2_RC_SUCCESS) return fail(error, "Esys_Load", rc);
    if (auth_length) memcpy(key_auth.buffer, auth, auth_length);
    key_auth.size = (UINT16)auth_length;
    rc = tss.set_auth(tpm->esys, key, &key_auth);
    explicit_bzero(&key_auth, sizeof(key_auth));
    if (rc != TSS2_RC_SUCCESS) {
        tss.flush_context(tpm->esys, key);
        return fail(error, "Esys_TR_SetAuth", rc);
    }
    memcpy(buffer.buffer, message, message_length);
    buffer.size = (UINT16)message_length;
    TPM2B_DIGEST *out = NULL;
    rc = tss.hmac(tpm->esys, key, tpm->session, ESYS_TR_NONE, ESYS_TR_NONE, &buffer, TPM2_ALG_NULL, &out);
    // The key is a transient object: without a resource manager it would
    // hold one of the TPM's few slots until the next TPM2_Startup.
    tss.flush_context(tpm->esys, key);
    if (rc != TSS2_RC_SUCCESS) return fail(error, "Esys_HMAC", rc);
    size_t length = out->size;
    if (length > sizeof(TPMU_HA)) length = sizeof(TPMU_HA);
    memcpy(mac, out->buffer, length);
    *mac_length = length;
    explicit_bzero(out, sizeof(*out));
    tss.free(out);
    return 0;
}

int latchkey_tpm_property(latchkey_tpm *tpm, uint32_t property, uint32_t *value, latchkey_tpm_error *error) {
    memset(error, 0, sizeof(*error));
    TPMI_YES_NO more = 0;
    TPMS_CAPABILITY_DATA *data = NULL;
    TSS2_RC rc = tss.get_capability(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                                    property, 1, &more, &data);
    if (rc != TSS2_RC_SUCCESS) return fail(error, "Esys_GetCapability", rc);
    int found = data->data.tpmProperties.count > 0 && data->data.tpmProperties.tpmProperty[0].property == property;
    if (found) *value = data->data.tpmProperties.tpmProperty[0].value;
    tss.free(data);
    if (!found) return fail_with(error, LATCHKEY_TPM_FAILED, "the TPM does not report this property");
    return 0;
}

int latchkey_tpm_has_algorithm(latchkey_tpm *tpm, uint16_t alg, int *present, latchkey_tpm_error *error) {
    memset(error, 0, sizeof(*error));
    TPMI_YES_NO more = 0;
    TPMS_CAPABILITY_DATA *data = NULL;
    TSS2_RC rc = tss.get_capability(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_ALGS, alg, 1, &more,
                                    &data);
    if (rc != TSS2_RC_SUCCESS) return fail(error, "Esys_GetCapability", rc);
    *present = data->data.algorithms.count > 0 && data->data.algorithms.algProperties[0].alg == alg;
    tss.free(data);
    return 0;
}
