// A freedesktop notification server for the tests, on the session bus named
// by DBUS_SESSION_BUS_ADDRESS. It owns org.freedesktop.Notifications, prints
// "ready" on stdout once it does, and appends one line per call to RECORD:
//
//   Notify<TAB>app_name<TAB>replaces_id<TAB>app_icon<TAB>summary<TAB>body<TAB>
//     actions(count)<TAB>expire_timeout<TAB>urgency<TAB>transient<TAB>id
//   CloseNotification<TAB>id
//
// (text fields with \\, \t and \n escaped; urgency and transient "-" when
// the hint is absent). Notify answers with ids 1, 2, 3, ...;
// CloseNotification answers and emits NotificationClosed(id, 3);
// GetCapabilities and GetServerInformation answer as the spec says (libnotify
// asks for the latter); any other method gets an UnknownMethod error.
//
//   notification_server RECORD [--silent]
//
// --silent: owns the name but never answers Notify (a hung server).
// Build: gcc -O2 -Wall -o notification_server notification_server.c $(pkg-config --cflags --libs dbus-1)
#include <dbus/dbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INTERFACE "org.freedesktop.Notifications"
#define PATH "/org/freedesktop/Notifications"

static FILE *record;

static void put_escaped(const char *text) {
    for (const char *c = text; *c; c++) {
        switch (*c) {
        case '\\': fputs("\\\\", record); break;
        case '\t': fputs("\\t", record); break;
        case '\n': fputs("\\n", record); break;
        default: fputc(*c, record);
        }
    }
}

static int next_string(DBusMessageIter *args, const char **value) {
    if (dbus_message_iter_get_arg_type(args) != DBUS_TYPE_STRING) return 0;
    dbus_message_iter_get_basic(args, value);
    dbus_message_iter_next(args);
    return 1;
}

static void reply_error(DBusConnection *bus, DBusMessage *call, const char *name, const char *text) {
    DBusMessage *error = dbus_message_new_error(call, name, text);
    if (error) {
        dbus_connection_send(bus, error, NULL);
        dbus_message_unref(error);
    }
}

static void handle_notify(DBusConnection *bus, DBusMessage *call, int silent, dbus_uint32_t *last_id) {
    DBusMessageIter args, inner, entry, variant;
    const char *app_name, *icon, *summary, *body;
    dbus_uint32_t replaces_id;
    dbus_int32_t expire;
    int actions = 0, urgency = -1, transient = -1;

    if (!dbus_message_iter_init(call, &args) || !next_string(&args, &app_name)
        || dbus_message_iter_get_arg_type(&args) != DBUS_TYPE_UINT32) goto invalid;
    dbus_message_iter_get_basic(&args, &replaces_id);
    dbus_message_iter_next(&args);
    if (!next_string(&args, &icon) || !next_string(&args, &summary) || !next_string(&args, &body)) goto invalid;
    if (dbus_message_iter_get_arg_type(&args) != DBUS_TYPE_ARRAY) goto invalid;
    dbus_message_iter_recurse(&args, &inner);
    while (dbus_message_iter_get_arg_type(&inner) == DBUS_TYPE_STRING) { actions++; dbus_message_iter_next(&inner); }
    dbus_message_iter_next(&args);
    if (dbus_message_iter_get_arg_type(&args) != DBUS_TYPE_ARRAY) goto invalid;
    dbus_message_iter_recurse(&args, &inner);
    while (dbus_message_iter_get_arg_type(&inner) == DBUS_TYPE_DICT_ENTRY) {
        const char *key;
        dbus_message_iter_recurse(&inner, &entry);
        if (!next_string(&entry, &key) || dbus_message_iter_get_arg_type(&entry) != DBUS_TYPE_VARIANT) goto invalid;
        dbus_message_iter_recurse(&entry, &variant);
        if (strcmp(key, "urgency") == 0 && dbus_message_iter_get_arg_type(&variant) == DBUS_TYPE_BYTE) {
            unsigned char value;
            dbus_message_iter_get_basic(&variant, &value);
            urgency = value;
        } else if (strcmp(key, "transient") == 0 && dbus_message_iter_get_arg_type(&variant) == DBUS_TYPE_BOOLEAN) {
            dbus_bool_t value;
            dbus_message_iter_get_basic(&variant, &value);
            transient = value ? 1 : 0;
        }
        dbus_message_iter_next(&inner);
    }
    dbus_message_iter_next(&args);
    if (dbus_message_iter_get_arg_type(&args) != DBUS_TYPE_INT32) goto invalid;
    dbus_message_iter_get_basic(&args, &expire);

    dbus_uint32_t id = ++*last_id;
    fputs("Notify\t", record);
    put_escaped(app_name);
    fprintf(record, "\t%u\t", replaces_id);
    put_escaped(icon);
    fputc('\t', record);
    put_escaped(summary);
    fputc('\t', record);
    put_escaped(body);
    fprintf(record, "\t%d\t%d\t", actions, expire);
    if (urgency < 0) fputc('-', record); else fprintf(record, "%d", urgency);
    fputc('\t', record);
    if (transient < 0) fputc('-', record); else fprintf(record, "%d", transient);
    fprintf(record, "\t%u\n", id);
    fflush(record);
    if (silent) return;

    DBusMessage *reply = dbus_message_new_method_return(call);
    if (reply && dbus_message_append_args(reply, DBUS_TYPE_UINT32, &id, DBUS_TYPE_INVALID)) dbus_connection_send(bus, reply, NULL);
    if (reply) dbus_message_unref(reply);
    return;
invalid:
    reply_error(bus, call, DBUS_ERROR_INVALID_ARGS, "Notify takes (susssasa{sv}i)");
}

static void handle_close(DBusConnection *bus, DBusMessage *call) {
    dbus_uint32_t id;
    if (!dbus_message_get_args(call, NULL, DBUS_TYPE_UINT32, &id, DBUS_TYPE_INVALID)) {
        reply_error(bus, call, DBUS_ERROR_INVALID_ARGS, "CloseNotification takes (u)");
        return;
    }
    fprintf(record, "CloseNotification\t%u\n", id);
    fflush(record);
    DBusMessage *reply = dbus_message_new_method_return(call);
    if (reply) { dbus_connection_send(bus, reply, NULL); dbus_message_unref(reply); }
    DBusMessage *closed = dbus_message_new_signal(PATH, INTERFACE, "NotificationClosed");
    dbus_uint32_t reason = 3;  // closed by a call to CloseNotification
    if (closed && dbus_message_append_args(closed, DBUS_TYPE_UINT32, &id, DBUS_TYPE_UINT32, &reason, DBUS_TYPE_INVALID))
        dbus_connection_send(bus, closed, NULL);
    if (closed) dbus_message_unref(closed);
}

static void handle_capabilities(DBusConnection *bus, DBusMessage *call) {
    DBusMessage *reply = dbus_message_new_method_return(call);
    const char *capabilities[] = { "body" };
    const char **list = capabilities;
    if (reply && dbus_message_append_args(reply, DBUS_TYPE_ARRAY, DBUS_TYPE_STRING, &list, 1, DBUS_TYPE_INVALID))
        dbus_connection_send(bus, reply, NULL);
    if (reply) dbus_message_unref(reply);
}

static void handle_information(DBusConnection *bus, DBusMessage *call) {
    DBusMessage *reply = dbus_message_new_method_return(call);
    const char *name = "latchkey-test-server", *vendor = "latchkey", *version = "1", *spec = "1.2";
    if (reply && dbus_message_append_args(reply, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &vendor,
                                          DBUS_TYPE_STRING, &version, DBUS_TYPE_STRING, &spec, DBUS_TYPE_INVALID))
        dbus_connection_send(bus, reply, NULL);
    if (reply) dbus_message_unref(reply);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s RECORD [--silent]\n", argv[0]); return 2; }
    int silent = argc > 2 && strcmp(argv[2], "--silent") == 0;
    record = fopen(argv[1], "a");
    if (!record) { perror(argv[1]); return 1; }

    DBusError error;
    dbus_error_init(&error);
    DBusConnection *bus = dbus_bus_get_private(DBUS_BUS_SESSION, &error);
    if (!bus) { fprintf(stderr, "no session bus: %s\n", error.message); return 1; }
    dbus_connection_set_exit_on_disconnect(bus, TRUE);
    int owned = dbus_bus_request_name(bus, INTERFACE, DBUS_NAME_FLAG_DO_NOT_QUEUE, &error);
    if (owned != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER) {
        fprintf(stderr, "could not own %s: %s\n", INTERFACE, dbus_error_is_set(&error) ? error.message : "taken");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);

    dbus_uint32_t last_id = 0;
    while (dbus_connection_read_write(bus, -1)) {
        DBusMessage *message;
        while ((message = dbus_connection_pop_message(bus))) {
            if (dbus_message_get_type(message) == DBUS_MESSAGE_TYPE_METHOD_CALL) {
                if (dbus_message_is_method_call(message, INTERFACE, "Notify")) handle_notify(bus, message, silent, &last_id);
                else if (dbus_message_is_method_call(message, INTERFACE, "CloseNotification")) handle_close(bus, message);
                else if (dbus_message_is_method_call(message, INTERFACE, "GetCapabilities")) handle_capabilities(bus, message);
                else if (dbus_message_is_method_call(message, INTERFACE, "GetServerInformation")) handle_information(bus, message);
                else reply_error(bus, message, DBUS_ERROR_UNKNOWN_METHOD, "not served by the test server");
            }
            dbus_message_unref(message);
        }
    }
    return 0;
}
