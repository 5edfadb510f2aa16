#ifndef LATCHKEY_CDBUS_SHIM_H
#define LATCHKEY_CDBUS_SHIM_H

#include <stdint.h>

// Why this shim exists:
// 1. latchkey loads libdbus-1 with dlopen only when it is about to show a
//    desktop notification (a touch prompt with no terminal), so no other
//    start-up pays for loading it.
// 2. Building a D-Bus message takes a dozen calls with iterators and
//    containers; doing them in C keeps libdbus's types out of Swift.
// 3. Every call is bounded: the connection is private (never the shared
//    bus connection, which registers with libdbus's 25 s default), the
//    handshake and Hello are driven by hand within the caller's timeout, the
//    connect itself runs on a thread the caller stops waiting for at the
//    deadline (libdbus's connect() on a Unix socket blocks), and nothing
//    waits without a bound.
// libdbus aborts the process on a "check failed" (a NULL connection, a
// private connection unreferenced before it is closed, invalid UTF-8);
// this file never gives it one, and the Swift caller passes only valid
// UTF-8 without NUL bytes.

typedef struct latchkey_dbus_connection latchkey_dbus_connection;

// Return values.
#define LATCHKEY_DBUS_OK 0
#define LATCHKEY_DBUS_NO_LIBRARY (-1)  // libdbus-1.so.3 missing or incomplete
#define LATCHKEY_DBUS_NO_MEMORY (-2)
#define LATCHKEY_DBUS_FAILED (-3)      // no bus, no reply in time, an error reply
#define LATCHKEY_DBUS_BAD_REPLY (-4)   // a reply of the wrong signature

// Loads libdbus-1.so.3 (once per process); LATCHKEY_DBUS_OK when it is usable.
int latchkey_dbus_load(void);

// Opens a private connection to `address`, authenticates and says Hello to
// the bus, all within `timeout_ms`. NULL on any failure.
latchkey_dbus_connection *latchkey_dbus_connect(const char *address, int timeout_ms);

// 1 while the connection is up.
int latchkey_dbus_is_connected(latchkey_dbus_connection *connection);

// org.freedesktop.Notifications.Notify(app_name, 0, "", summary, body, [],
// {"urgency": byte urgency, "transient": true}, expire_timeout_ms) on
// /org/freedesktop/Notifications; the server's id in *id.
int latchkey_dbus_notify(latchkey_dbus_connection *connection, const char *app_name, const char *summary,
                         const char *body, int32_t expire_timeout_ms, uint8_t urgency, int timeout_ms,
                         uint32_t *id);

// org.freedesktop.Notifications.CloseNotification(id), waiting at most
// timeout_ms for the answer.
int latchkey_dbus_close_notification(latchkey_dbus_connection *connection, uint32_t id, int timeout_ms);

// Closes and releases the connection.
void latchkey_dbus_disconnect(latchkey_dbus_connection *connection);

#endif
