#ifndef LATCHKEY_CCURL_SHIM_H
#define LATCHKEY_CCURL_SHIM_H

#include <stddef.h>

// Why this shim exists:
// 1. latchkey loads libcurl with dlopen the first time it makes an HTTP
//    request, so commands that make none (the cached credential-process path,
//    `code`, `accounts`) never pay for loading libcurl and its TLS stack.
// 2. curl_easy_setopt is variadic, which Swift cannot call.
// One function performs one POST (or GET when body is NULL) with TLS
// verification on, and returns status, response headers and body.
// ca_file, when not NULL, is the CA bundle (PEM) to verify against instead
// of the system's (CURLOPT_CAINFO: AWS_CA_BUNDLE / ca_bundle).

typedef struct latchkey_http_response {
    long status;
    unsigned char *body;
    size_t body_length;
    char *headers;          // raw header block, "Name: value\r\n" lines
    size_t headers_length;
    char error[256];        // curl's message when the call fails
} latchkey_http_response;

// Return values besides CURLcode (0 = success).
#define LATCHKEY_HTTP_NO_LIBCURL (-1)
#define LATCHKEY_HTTP_NO_MEMORY (-2)

int latchkey_http_request(const char *url,
                          const char *const *headers, size_t header_count,
                          const unsigned char *body, size_t body_length,
                          long timeout_ms, long connect_timeout_ms,
                          size_t max_response_bytes,
                          const char *ca_file,
                          latchkey_http_response *response);

void latchkey_http_response_free(latchkey_http_response *response);

#endif
