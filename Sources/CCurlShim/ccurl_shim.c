#include "ccurl_shim.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

// The libcurl functions latchkey uses, resolved once with dlsym.
static struct {
    int loaded;
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load_libcurl(void) {
    void *handle = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!handle) return;
#define RESOLVE(field, symbol) \
    if (!(*(void **)(&curl.field) = dlsym(handle, symbol))) return;
    RESOLVE(global_init, "curl_global_init")
    RESOLVE(easy_init, "curl_easy_init")
    RESOLVE(easy_setopt, "curl_easy_setopt")
    RESOLVE(easy_perform, "curl_easy_perform")
    RESOLVE(easy_getinfo, "curl_easy_getinfo")
    RESOLVE(easy_cleanup, "curl_easy_cleanup")
    RESOLVE(easy_strerror, "curl_easy_strerror")
    RESOLVE(slist_append, "curl_slist_append")
    RESOLVE(slist_free_all, "curl_slist_free_all")
#undef RESOLVE
    if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return;
    curl.loaded = 1;
}

typedef struct buffer {
    unsigned char *data;
    size_t length;
    size_t limit;
    int overflow;
} buffer;

static size_t append(buffer *b, const void *data, size_t size) {
    if (b->length + size > b->limit) { b->overflow = 1; return 0; }
    unsigned char *grown = realloc(b->data, b->length + size + 1);
    if (!grown) { b->overflow = 1; return 0; }
    memcpy(grown + b->length, data, size);
    b->data = grown;
    b->length += size;
    b->data[b->length] = 0;
    return size;
}

static size_t on_body(char *data, size_t size, size_t count, void *context) {
    return append((buffer *)context, data, size * count);
}

static size_t on_header(char *data, size_t size, size_t count, void *context) {
    return append((buffer *)context, data, size * count);
}

int latchkey_http_request(const char *url,
                          const char *const *headers, size_t header_count,
                          const unsigned char *body, size_t body_length,
                          long timeout_ms, long connect_timeout_ms,
                          size_t max_response_bytes,
                          const char *ca_file,
                          latchkey_http_response *response) {
    memset(response, 0, sizeof(*response));
    pthread_once(&load_once, load_libcurl);
    if (!curl.loaded) {
        strncpy(response->error, "libcurl.so.4 could not be loaded (install libcurl4)", sizeof(response->error) - 1);
        return LATCHKEY_HTTP_NO_LIBCURL;
    }
    CURL *easy = curl.easy_init();
    if (!easy) return LATCHKEY_HTTP_NO_MEMORY;

    struct curl_slist *list = NULL;
    for (size_t i = 0; i < header_count; i++) {
        struct curl_slist *next = curl.slist_append(list, headers[i]);
        if (!next) { curl.slist_free_all(list); curl.easy_cleanup(easy); return LATCHKEY_HTTP_NO_MEMORY; }
        list = next;
    }
    buffer body_buffer = { NULL, 0, max_response_bytes, 0 };
    buffer header_buffer = { NULL, 0, 64 * 1024, 0 };

    curl.easy_setopt(easy, CURLOPT_URL, url);
    curl.easy_setopt(easy, CURLOPT_HTTPHEADER, list);
    curl.easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl.easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca_file) curl.easy_setopt(easy, CURLOPT_CAINFO, ca_file);
    curl.easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl.easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl.easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl.easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    curl.easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl.easy_setopt(easy, CURLOPT_WRITEDATA, &body_buffer);
    curl.easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl.easy_setopt(easy, CURLOPT_HEADERDATA, &header_buffer);
    curl.easy_setopt(easy, CURLOPT_ERRORBUFFER, response->error);
    if (body) {
        curl.easy_setopt(easy, CURLOPT_POST, 1L);
        curl.easy_setopt(easy, CURLOPT_POSTFIELDS, body);
        curl.easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
    }

    CURLcode result = curl.easy_perform(easy);
    if (result == CURLE_OK) {
        curl.easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response->status);
    } else if (response->error[0] == 0) {
        strncpy(response->error, curl.easy_strerror(result), sizeof(response->error) - 1);
    }
    response->body = body_buffer.data;
    response->body_length = body_buffer.length;
    response->headers = (char *)header_buffer.data;
    response->headers_length = header_buffer.length;
    curl.slist_free_all(list);
    curl.easy_cleanup(easy);
    return (int)result;
}

void latchkey_http_response_free(latchkey_http_response *response) {
    free(response->body);
    free(response->headers);
    response->body = NULL;
    response->headers = NULL;
}
