#include "cdbus_shim.h"

#include <dbus/dbus.h>
#include <dlfcn.h>
#include <pthread.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// The libdbus functions latchkey uses, resolved once with dlsym.
static struct {
    int loaded;
    dbus_bool_t (*threads_init_default)(void);
    void (*error_init)(DBusError *);
    void (*error_free)(DBusError *);
    DBusConnection *(*connection_open_private)(const char *, DBusError *);
    void (*connection_set_exit_on_disconnect)(DBusConnection *, dbus_bool_t);
    dbus_bool_t (*connection_get_is_connected)(DBusConnection *);
    dbus_bool_t (*connection_get_is_authenticated)(DBusConnection *);
    dbus_bool_t (*connection_read_write)(DBusConnection *, int);
    DBusMessage *(*connection_send_with_reply_and_block)(DBusConnection *, DBusMessage *, int, DBusError *);
    void (*connection_close)(DBusConnection *);
    void (*connection_unref)(DBusConnection *);
    DBusMessage *(*message_new_method_call)(const char *, const char *, const char *, const char *);
    void (*message_unref)(DBusMessage *);
    void (*message_iter_init_append)(DBusMessage *, DBusMessageIter *);
    dbus_bool_t (*message_iter_append_basic)(DBusMessageIter *, int, const void *);
    dbus_bool_t (*message_iter_open_container)(DBusMessageIter *, int, const char *, DBusMessageIter *);
    dbus_bool_t (*message_iter_close_container)(DBusMessageIter *, DBusMessageIter *);
    void (*message_iter_abandon_container_if_open)(DBusMessageIter *, DBusMessageIter *);
    dbus_bool_t (*message_iter_init)(DBusMessage *, DBusMessageIter *);
    int (*message_iter_get_arg_type)(DBusMessageIter *);
    void (*message_iter_get_basic)(DBusMessageIter *, void *);
} dbus;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load_libdbus(void) {
    void *handle = dlopen("libdbus-1.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!handle) return;
#define RESOLVE(field, symbol) \
    if (!(*(void **)(&dbus.field) = dlsym(handle, symbol))) return;
    RESOLVE(threads_init_default, "dbus_threads_init_default")
    RESOLVE(error_init, "dbus_error_init")
    RESOLVE(error_free, "dbus_error_free")
    RESOLVE(connection_open_private, "dbus_connection_open_private")
    RESOLVE(connection_set_exit_on_disconnect, "dbus_connection_set_exit_on_disconnect")
    RESOLVE(connection_get_is_connected, "dbus_connection_get_is_connected")
    RESOLVE(connection_get_is_authenticated, "dbus_connection_get_is_authenticated")
    RESOLVE(connection_read_write, "dbus_connection_read_write")
    RESOLVE(connection_send_with_reply_and_block, "dbus_connection_send_with_reply_and_block")
    RESOLVE(connection_close, "dbus_connection_close")
    RESOLVE(connection_unref, "dbus_connection_unref")
    RESOLVE(message_new_method_call, "dbus_message_new_method_call")
    RESOLVE(message_unref, "dbus_message_unref")
    RESOLVE(message_iter_init_append, "dbus_message_iter_init_append")
    RESOLVE(message_iter_append_basic, "dbus_message_iter_append_basic")
    RESOLVE(message_iter_open_container, "dbus_message_iter_open_container")
    RESOLVE(message_iter_close_container, "dbus_message_iter_close_container")
    RESOLVE(message_iter_abandon_container_if_open, "dbus_message_iter_abandon_container_if_open")
    RESOLVE(message_iter_init, "dbus_message_iter_init")
    RESOLVE(message_iter_get_arg_type, "dbus_message_iter_get_arg_type")
    RESOLVE(message_iter_get_basic, "dbus_message_iter_get_basic")
#undef RESOLVE
    // Callers may come from any thread (each connection is used by one at a time).
    if (!dbus.threads_init_default()) return;
    dbus.loaded = 1;
}

int latchkey_dbus_load(void) {
    pthread_once(&load_once, load_libdbus);
    return dbus.loaded ? LATCHKEY_DBUS_OK : LATCHKEY_DBUS_NO_LIBRARY;
}

// Sends `call` and waits at most timeout_ms for a method return; the
// return (to unref) or NULL. Always unrefs `call`.
static DBusMessage *call_and_wait(DBusConnection *connection, DBusMessage *call, int timeout_ms) {
    DBusError error;
    dbus.error_init(&error);
    DBusMessage *reply = dbus.connection_send_with_reply_and_block(connection, call, timeout_ms, &error);
    dbus.message_unref(call);
    dbus.error_free(&error);
    return reply;
}

static long long monotonic_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

// Runs the authentication handshake until it succeeds, the peer goes away,
// or the deadline passes. Not left to send_with_reply_and_block: its
// timeout does not cover the handshake, and a socket that accepts and never
// answers held it forever (measured: the deaf-socket test hung in poll
// with no timeout). dbus_connection_read_write waits at most what is left.
static int authenticate(DBusConnection *connection, long long deadline) {
    while (!dbus.connection_get_is_authenticated(connection)) {
        long long left = deadline - monotonic_ms();
        if (left <= 0 || !dbus.connection_get_is_connected(connection)) return 0;
        if (!dbus.connection_read_write(connection, (int)left)) return 0;
    }
    return 1;
}

static DBusConnection *connect_now(const char *address, int timeout_ms) {
    DBusError error;
    dbus.error_init(&error);
    DBusConnection *connection = dbus.connection_open_private(address, &error);
    dbus.error_free(&error);
    if (!connection) return NULL;
    // A dropped bus must never end latchkey (libdbus's default for private
    // connections, said here so no change of default can bite).
    dbus.connection_set_exit_on_disconnect(connection, FALSE);

    long long deadline = monotonic_ms() + timeout_ms;
    DBusMessage *reply = NULL;
    if (authenticate(connection, deadline)) {
        // The bus's Hello by hand: dbus_bus_register would wait 25 s.
        DBusMessage *hello = dbus.message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS, "Hello");
        long long left = deadline - monotonic_ms();
        if (hello && left > 0) reply = call_and_wait(connection, hello, (int)left);
        else if (hello) dbus.message_unref(hello);
    }
    if (!reply) {
        dbus.connection_close(connection);
        dbus.connection_unref(connection);
        return NULL;
    }
    dbus.message_unref(reply);
    return connection;
}

// One connect_now on a thread of its own, which the caller may abandon.
// libdbus connects a Unix socket with a blocking connect(), which a socket
// whose accept queue is full (a frozen bus) holds forever (seen: more than
// 5 s with the deadline passed); the caller waits for the thread at most
// its timeout, and an abandoned thread releases what it made.
typedef struct connect_job {
    pthread_mutex_t lock;
    pthread_cond_t finished;
    int done, abandoned;
    int timeout_ms;
    DBusConnection *connection;
    char address[];
} connect_job;

static void free_job(connect_job *job) {
    pthread_cond_destroy(&job->finished);
    pthread_mutex_destroy(&job->lock);
    free(job);
}

static void *run_job(void *context) {
    connect_job *job = context;
    DBusConnection *connection = connect_now(job->address, job->timeout_ms);
    pthread_mutex_lock(&job->lock);
    int abandoned = job->abandoned;
    job->connection = connection;
    job->done = 1;
    pthread_cond_signal(&job->finished);
    pthread_mutex_unlock(&job->lock);
    if (abandoned) {
        if (connection) {
            dbus.connection_close(connection);
            dbus.connection_unref(connection);
        }
        free_job(job);
    }
    return NULL;
}

latchkey_dbus_connection *latchkey_dbus_connect(const char *address, int timeout_ms) {
    if (latchkey_dbus_load() != LATCHKEY_DBUS_OK || !address || timeout_ms <= 0) return NULL;
    size_t length = strlen(address);
    connect_job *job = calloc(1, sizeof(connect_job) + length + 1);
    if (!job) return NULL;
    memcpy(job->address, address, length + 1);
    job->timeout_ms = timeout_ms;
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&job->finished, &attributes);
    pthread_condattr_destroy(&attributes);
    pthread_mutex_init(&job->lock, NULL);

    pthread_attr_t thread_attributes;
    pthread_t thread;
    pthread_attr_init(&thread_attributes);
    pthread_attr_setdetachstate(&thread_attributes, PTHREAD_CREATE_DETACHED);
    int started = pthread_create(&thread, &thread_attributes, run_job, job) == 0;
    pthread_attr_destroy(&thread_attributes);
    if (!started) {
        free_job(job);
        return NULL;
    }

    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) { deadline.tv_sec += 1; deadline.tv_nsec -= 1000000000; }
    pthread_mutex_lock(&job->lock);
    while (!job->done && pthread_cond_timedwait(&job->finished, &job->lock, &deadline) != ETIMEDOUT) {}
    int done = job->done;
    DBusConnection *connection = job->connection;
    if (!done) job->abandoned = 1;  // the thread frees the job
    pthread_mutex_unlock(&job->lock);
    if (done) free_job(job);
    return (latchkey_dbus_connection *)connection;
}

int latchkey_dbus_is_connected(latchkey_dbus_connection *connection) {
    return connection && dbus.connection_get_is_connected((DBusConnection *)connection) ? 1 : 0;
}

static DBusMessage *notifications_call(const char *method) {
    return dbus.message_new_method_call("org.freedesktop.Notifications", "/org/freedesktop/Notifications",
                                        "org.freedesktop.Notifications", method);
}

// The hints dictionary a{sv}: urgency (byte) and transient (boolean, so the
// prompt does not stay in the server's history).
static int append_hints(DBusMessageIter *arguments, uint8_t urgency) {
    DBusMessageIter dictionary, entry, variant;
    if (!dbus.message_iter_open_container(arguments, DBUS_TYPE_ARRAY, "{sv}", &dictionary)) return 0;
    const char *keys[2] = { "urgency", "transient" };
    dbus_bool_t transient = TRUE;
    for (int i = 0; i < 2; i++) {
        int ok = dbus.message_iter_open_container(&dictionary, DBUS_TYPE_DICT_ENTRY, NULL, &entry);
        ok = ok && dbus.message_iter_append_basic(&entry, DBUS_TYPE_STRING, &keys[i]);
        ok = ok && dbus.message_iter_open_container(&entry, DBUS_TYPE_VARIANT, i == 0 ? "y" : "b", &variant);
        ok = ok && (i == 0 ? dbus.message_iter_append_basic(&variant, DBUS_TYPE_BYTE, &urgency)
                           : dbus.message_iter_append_basic(&variant, DBUS_TYPE_BOOLEAN, &transient));
        ok = ok && dbus.message_iter_close_container(&entry, &variant);
        ok = ok && dbus.message_iter_close_container(&dictionary, &entry);
        if (!ok) {
            dbus.message_iter_abandon_container_if_open(&entry, &variant);
            dbus.message_iter_abandon_container_if_open(&dictionary, &entry);
            dbus.message_iter_abandon_container_if_open(arguments, &dictionary);
            return 0;
        }
    }
    return dbus.message_iter_close_container(arguments, &dictionary);
}

int latchkey_dbus_notify(latchkey_dbus_connection *connection, const char *app_name, const char *summary,
                         const char *body, int32_t expire_timeout_ms, uint8_t urgency, int timeout_ms,
                         uint32_t *id) {
    if (latchkey_dbus_load() != LATCHKEY_DBUS_OK) return LATCHKEY_DBUS_NO_LIBRARY;
    if (!connection || !app_name || !summary || !body || !id) return LATCHKEY_DBUS_FAILED;
    DBusMessage *call = notifications_call("Notify");
    if (!call) return LATCHKEY_DBUS_NO_MEMORY;

    DBusMessageIter arguments, actions;
    dbus_uint32_t replaces_id = 0;
    dbus_int32_t expire = expire_timeout_ms;
    const char *icon = "";
    dbus.message_iter_init_append(call, &arguments);
    int ok = dbus.message_iter_append_basic(&arguments, DBUS_TYPE_STRING, &app_name)
          && dbus.message_iter_append_basic(&arguments, DBUS_TYPE_UINT32, &replaces_id)
          && dbus.message_iter_append_basic(&arguments, DBUS_TYPE_STRING, &icon)
          && dbus.message_iter_append_basic(&arguments, DBUS_TYPE_STRING, &summary)
          && dbus.message_iter_append_basic(&arguments, DBUS_TYPE_STRING, &body);
    if (ok) {
        ok = dbus.message_iter_open_container(&arguments, DBUS_TYPE_ARRAY, DBUS_TYPE_STRING_AS_STRING, &actions)
          && dbus.message_iter_close_container(&arguments, &actions);
    }
    ok = ok && append_hints(&arguments, urgency)
            && dbus.message_iter_append_basic(&arguments, DBUS_TYPE_INT32, &expire);
    if (!ok) {
        dbus.message_unref(call);
        return LATCHKEY_DBUS_NO_MEMORY;
    }

    DBusMessage *reply = call_and_wait((DBusConnection *)connection, call, timeout_ms);
    if (!reply) return LATCHKEY_DBUS_FAILED;
    DBusMessageIter results;
    int result = LATCHKEY_DBUS_BAD_REPLY;
    if (dbus.message_iter_init(reply, &results) && dbus.message_iter_get_arg_type(&results) == DBUS_TYPE_UINT32) {
        dbus_uint32_t value = 0;
        dbus.message_iter_get_basic(&results, &value);
        *id = value;
        result = LATCHKEY_DBUS_OK;
    }
    dbus.message_unref(reply);
    return result;
}

int latchkey_dbus_close_notification(latchkey_dbus_connection *connection, uint32_t id, int timeout_ms) {
    if (latchkey_dbus_load() != LATCHKEY_DBUS_OK) return LATCHKEY_DBUS_NO_LIBRARY;
    if (!connection) return LATCHKEY_DBUS_FAILED;
    DBusMessage *call = notifications_call("CloseNotification");
    if (!call) return LATCHKEY_DBUS_NO_MEMORY;
    DBusMessageIter arguments;
    dbus_uint32_t value = id;
    dbus.message_iter_init_append(call, &arguments);
    if (!dbus.message_iter_append_basic(&arguments, DBUS_TYPE_UINT32, &value)) {
        dbus.message_unref(call);
        return LATCHKEY_DBUS_NO_MEMORY;
    }
    DBusMessage *reply = call_and_wait((DBusConnection *)connection, call, timeout_ms);
    if (!reply) return LATCHKEY_DBUS_FAILED;
    dbus.message_unref(reply);
    return LATCHKEY_DBUS_OK;
}

void latchkey_dbus_disconnect(latchkey_dbus_connection *connection) {
    if (!connection || !dbus.loaded) return;
    // A private connection must be closed before its last reference goes.
    dbus.connection_close((DBusConnection *)connection);
    dbus.connection_unref((DBusConnection *)connection);
}
