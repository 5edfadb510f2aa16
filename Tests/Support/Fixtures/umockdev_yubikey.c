/*
 * umockdev_yubikey: an emulated YubiKey on the USB bus, for testing
 * latchkey's libusb CCID transport on machines without a key.
 *
 *   umockdev_yubikey --listen-port P [--port-file F] [--wait-for-key S]
 *                    [--product 0407] [--serial N] [--busy]
 *                    [--also-non-ccid] [--time-extension MS] [--verbose]
 *                    -- COMMAND ARGS...
 *
 * It builds a umockdev testbed (libumockdev, Debian 0.17.16) holding a root
 * hub 1d6b:0002 at 001/001 and a Yubico key 1050:PRODUCT at 001/002
 * (--also-non-ccid: and a FIDO-only 1050:0402 at 001/003), then runs
 * COMMAND with libumockdev-preload.so.0 in LD_PRELOAD and UMOCKDEV_DIR set,
 * so that libusb in COMMAND finds those devices in sysfs and opens
 * /dev/bus/usb/BBB/DDD. The usbdevfs ioctls on that node come here (the
 * preload forwards them over a unix socket), and this program answers them
 * like the kernel and a YubiKey would: the CCID interface takes CCID
 * messages on its bulk-OUT endpoint and answers on bulk-IN; APDUs go to a
 * smart card behind a vpcd-protocol TCP connection (REFERENCE §3): this
 * program listens on 127.0.0.1:P like vsmartcard's vpcd, and
 * `latchkey-virtual-key serve --port P` connects to it as the card.
 *
 * --listen-port 0 lets the kernel pick the port; --port-file F receives it
 * (written once the socket listens). --wait-for-key S holds COMMAND back
 * until the card has connected (at most S seconds, else exit 70). A
 * product without CCID (0401-0403) has no slot, and these three options
 * then do nothing.
 * --busy makes claiming the CCID interface fail with EBUSY, as when pcscd
 * holds the key. --time-extension MS sends a CCID time extension (bStatus
 * 0x80) every MS milliseconds while the card has not answered yet, as a key
 * waiting for a touch does. --verbose logs every CCID message on stderr.
 *
 * COMMAND gets LATCHKEY_UMOCKDEV_BUS and LATCHKEY_UMOCKDEV_ADDRESS (where
 * the key is, decimal) in its environment; stdout is COMMAND's alone. Exit
 * status: COMMAND's (128 + N when signal N ended it); 70 when this program
 * fails itself, with a line on stderr. SIGTERM, SIGINT and SIGHUP go on to
 * COMMAND; the testbed's directory is removed at the end.
 *
 * Build (Debian: libumockdev-dev, which brings libglib2.0-dev):
 *   cc -O2 -o umockdev_yubikey umockdev_yubikey.c \
 *      $(pkg-config --cflags --libs umockdev-1.0) -lpthread
 *
 * How umockdev 0.17.16 works, and what this relies on (read in its
 * libumockdev-preload.c and umockdev-ioctl.vala, and in libusb 1.0.26's
 * os/linux_usbfs.c and os/linux_udev.c):
 * - The preload redirects /sys and /dev paths into UMOCKDEV_DIR. A "usb"
 *   device node is a plain empty file there; opening it also connects a
 *   unix socket to $UMOCKDEV_DIR/ioctl/dev/bus/usb/BBB/DDD, where the
 *   handler attached with umockdev_testbed_attach_ioctl() listens.
 * - Every ioctl on that fd blocks the caller until the handler calls
 *   umockdev_ioctl_client_complete(). While it is blocked, the handler can
 *   read the caller's memory: umockdev_ioctl_data_resolve() copies the
 *   pointed-to bytes here; changes to the copy are written back on
 *   complete(). umockdev_ioctl_data_set_ptr() makes an out-pointer (REAPURB's
 *   `struct usbdevfs_urb **`) point at an earlier resolved block, written
 *   back as the caller's own address. So an URB resolved at SUBMITURB is
 *   kept (with a reference) and handed back, filled in, at REAPURBNDELAY.
 * - Handlers run on the testbed's worker thread (its own GMainContext).
 *   Answers from the card come on another thread (this file's card
 *   thread), so all device state sits behind one mutex; the worker thread
 *   is never held up by the card, which can take seconds.
 * - libusb waits for URBs with poll(POLLOUT) on the device fd, then reaps
 *   with REAPURBNDELAY until EAGAIN. umockdev's node is a plain file, which
 *   always polls ready: libusb would ask again and again while a transfer
 *   waits (measured: 1.7 s of CPU in a 3 s wait for a touch). So the node
 *   is replaced by a FIFO that this program keeps full while nothing can
 *   be reaped (no POLLOUT: libusb sleeps in poll) and drains as soon as
 *   something can (POLLOUT: libusb wakes), as the kernel signals usbfs
 *   fds. Reads and writes on the node come here (the preload forwards
 *   them), so a client never touches the FIFO's bytes.
 * - libusb reads busnum, devnum, speed, descriptors and bConfigurationValue
 *   from sysfs (/sys/bus/usb/devices/1-1/...), and the device list from
 *   libudev (subsystem usb, DEVTYPE usb_device, DEVNAME for the node).
 *   Strings come from GET_DESCRIPTOR control transfers, answered here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/usbdevice_fs.h>
#include <umockdev.h>

#define EXIT_OWN_FAILURE 70
#define VENDOR_YUBICO 0x1050
#define BUS 1

/* CCID message types (CCID 1.1 §6) and the bits of bStatus. */
enum {
    PC_TO_RDR_ICC_POWER_ON = 0x62,
    PC_TO_RDR_ICC_POWER_OFF = 0x63,
    PC_TO_RDR_GET_SLOT_STATUS = 0x65,
    PC_TO_RDR_XFR_BLOCK = 0x6F,
    PC_TO_RDR_GET_PARAMETERS = 0x6C,
    PC_TO_RDR_RESET_PARAMETERS = 0x6D,
    PC_TO_RDR_SET_PARAMETERS = 0x61,
    PC_TO_RDR_ESCAPE = 0x6B,
    PC_TO_RDR_ABORT = 0x72,
    PC_TO_RDR_SET_DATA_RATE = 0x73,
    RDR_TO_PC_DATA_BLOCK = 0x80,
    RDR_TO_PC_SLOT_STATUS = 0x81,
    RDR_TO_PC_PARAMETERS = 0x82,
    RDR_TO_PC_ESCAPE = 0x83,
    RDR_TO_PC_DATA_RATE = 0x84,
    RDR_TO_PC_NOTIFY_SLOT_CHANGE = 0x50,
    ICC_ACTIVE = 0x00,
    ICC_INACTIVE = 0x01,
    ICC_ABSENT = 0x02,
    COMMAND_FAILED = 0x40,
    TIME_EXTENSION = 0x80,
    ERROR_ICC_MUTE = 0xFE,
    ERROR_BAD_LENGTH = 0x01,
    ERROR_BAD_SLOT = 0x05,
    ERROR_NOT_SUPPORTED = 0x00,
    /* Not CCID (its host messages are 0x61 to 0x73): what the worker
     * thread queues for the card thread besides the host's messages. A
     * reset, and a header whose dwLength is too long (the command's type
     * then in byte 1). */
    QUEUED_RESET = 0xFE,
    QUEUED_BAD_LENGTH = 0xFF,
};

static const uint8_t yubikey5_atr[] = {
    0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0,
    0x21, 0xC0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40,
};

static bool verbose;
/* Set while the testbed exists, for fail() on the main thread to remove it. */
static UMockdevTestbed *testbed;
static GThread *main_thread;

static void vlog(const char *format, va_list args)
{
    fputs("umockdev_yubikey: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
}

static void logf_(const char *format, ...) G_GNUC_PRINTF(1, 2);
static void logf_(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vlog(format, args);
    va_end(args);
}

#define debug(...) do { if (verbose) logf_(__VA_ARGS__); } while (0)

static G_NORETURN void fail(const char *format, ...) G_GNUC_PRINTF(1, 2);
static void fail(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vlog(format, args);
    va_end(args);
    if (testbed && g_thread_self() == main_thread)
        g_object_unref(testbed); /* removes $UMOCKDEV_DIR */
    exit(EXIT_OWN_FAILURE);
}

static char *hex(const uint8_t *bytes, size_t count)
{
    GString *s = g_string_sized_new(count * 3);
    for (size_t i = 0; i < count; i++)
        g_string_append_printf(s, i ? " %02X" : "%02X", bytes[i]);
    return g_string_free(s, FALSE);
}

/* ---------------------------------------------------------------------
 * What each product id has. The interface order (OTP keyboard, FIDO,
 * CCID) and the names are those Yubico keys show; endpoint numbers are
 * fixed below and found by clients from the descriptors.
 */
struct product {
    unsigned id;
    const char *name;
    bool otp, fido, ccid, neo;
};

static const struct product products[] = {
    {0x0401, "YubiKey OTP", true, false, false, false},
    {0x0402, "YubiKey FIDO", false, true, false, false},
    {0x0403, "YubiKey OTP+FIDO", true, true, false, false},
    {0x0404, "YubiKey CCID", false, false, true, false},
    {0x0405, "YubiKey OTP+CCID", true, false, true, false},
    {0x0406, "YubiKey FIDO+CCID", false, true, true, false},
    {0x0407, "YubiKey OTP+FIDO+CCID", true, true, true, false},
    {0x0111, "Yubikey NEO OTP+CCID", true, false, true, true},
    {0x0112, "Yubikey NEO CCID", false, false, true, true},
    {0x0115, "Yubikey NEO U2F+CCID", false, true, true, true},
    {0x0116, "Yubikey NEO OTP+U2F+CCID", true, true, true, true},
};

static const struct product *find_product(unsigned id)
{
    for (size_t i = 0; i < G_N_ELEMENTS(products); i++)
        if (products[i].id == id)
            return &products[i];
    return NULL;
}

/* ---------------------------------------------------------------------
 * One emulated USB device: its descriptors, what usbdevfs clients hold
 * (claims, URBs), and for the key its CCID slot.
 */
#define MAX_INTERFACES 4

struct interface {
    uint8_t number, class_, subclass, protocol;
    /* The kernel driver bound to it: usbhid for HID, hub for the hub, none
     * for CCID (no Linux driver binds class 0x0B). */
    const char *driver;
    bool driver_bound;
    UMockdevIoctlClient *claimed_by;
    uint8_t endpoints[3];
    int endpoint_count;
};

/* An URB between SUBMITURB and REAPURB. */
struct urb {
    UMockdevIoctlClient *client;
    UMockdevIoctlData *data;   /* struct usbdevfs_urb, resolved (a reference) */
    UMockdevIoctlData *buffer; /* its buffer, resolved (a reference; NULL if empty) */
    gulong client_addr;        /* the URB's address in the client */
    bool done;
};

struct card;

struct device {
    const char *label;
    unsigned address;
    uint16_t vendor, product_id, bcd_device;
    char *manufacturer, *product_name, *serial;
    GByteArray *device_descriptor, *config_descriptor;
    struct interface interfaces[MAX_INTERFACES];
    int interface_count;
    int ccid_interface; /* index into interfaces, -1 for none */
    uint8_t ccid_out, ccid_in, ccid_interrupt;
    uint32_t ccid_max_message;
    bool busy;

    GMutex lock; /* everything below, and URB contents */
    GQueue urbs; /* struct urb *, submitted and not reaped, in order */
    GQueue done; /* struct urb *, completed, in completion order */
    GByteArray *from_host; /* bulk-OUT bytes not yet a whole message */
    GQueue to_host; /* GByteArray *, whole messages for bulk-IN */
    size_t to_host_sent; /* of the head message */
    bool slot_change_pending;
    struct card *card; /* NULL for a device without CCID */
    int fifo_fd;       /* the node's FIFO, this side; -1 without */
    bool reapable;     /* the FIFO is drained: clients poll POLLOUT */
};

/* The smart card behind the CCID slot: a vpcd-protocol connection. */
struct card {
    struct device *device;
    int listen_fd, wake_fd, conn_fd;
    GQueue requests; /* GByteArray *, CCID messages, under device->lock */
    bool present;    /* under device->lock */
    GCond present_changed;
    bool powered;    /* card thread only */
    int time_extension_ms;
};

static void put8(GByteArray *a, unsigned v) { uint8_t b = v; g_byte_array_append(a, &b, 1); }
static void put16(GByteArray *a, unsigned v) { put8(a, v & 0xFF); put8(a, v >> 8); }
static void put32(GByteArray *a, uint32_t v) { put16(a, v & 0xFFFF); put16(a, v >> 16); }

static void put_endpoint(GByteArray *c, struct interface *i, uint8_t address, uint8_t attributes,
                         unsigned max_packet, uint8_t interval)
{
    put8(c, 7); put8(c, 0x05); put8(c, address); put8(c, attributes);
    put16(c, max_packet); put8(c, interval);
    i->endpoints[i->endpoint_count++] = address;
}

static struct interface *put_interface(struct device *d, GByteArray *c, uint8_t class_,
                                       uint8_t subclass, uint8_t protocol, int endpoints,
                                       const char *driver)
{
    struct interface *i = &d->interfaces[d->interface_count];
    i->number = d->interface_count++;
    i->class_ = class_;
    i->subclass = subclass;
    i->protocol = protocol;
    i->driver = driver;
    i->driver_bound = driver != NULL;
    put8(c, 9); put8(c, 0x04); put8(c, i->number); put8(c, 0); put8(c, endpoints);
    put8(c, class_); put8(c, subclass); put8(c, protocol); put8(c, 0);
    return i;
}

/* HID class descriptor: HID 1.11, one report descriptor of that length. */
static void put_hid(GByteArray *c, unsigned report_length)
{
    put8(c, 9); put8(c, 0x21); put16(c, 0x0111); put8(c, 0); put8(c, 1);
    put8(c, 0x22); put16(c, report_length);
}

/* The CCID class descriptor (CCID 1.1 §5.1) as a YubiKey 5 has it: one slot,
 * 5 V, T=1, 4 MHz, 10752 bps, automatic everything, short and extended
 * APDU-level exchange (dwFeatures 0x000400FE), echo for GetResponse and
 * Envelope, one busy slot. */
static void put_ccid(GByteArray *c, uint32_t max_message)
{
    put8(c, 54); put8(c, 0x21); put16(c, 0x0100);
    put8(c, 0);                /* bMaxSlotIndex */
    put8(c, 0x01);             /* bVoltageSupport: 5.0 V */
    put32(c, 0x00000002);      /* dwProtocols: T=1 */
    put32(c, 4000); put32(c, 4000); put8(c, 0);     /* clocks, kHz */
    put32(c, 10752); put32(c, 10752); put8(c, 0);   /* data rates, bps */
    put32(c, max_message - 10); /* dwMaxIFSD */
    put32(c, 0); put32(c, 0);  /* dwSynchProtocols, dwMechanical */
    put32(c, 0x000400FE);      /* dwFeatures */
    put32(c, max_message);     /* dwMaxCCIDMessageLength */
    put8(c, 0xFF); put8(c, 0xFF); /* bClassGetResponse, bClassEnvelope */
    put16(c, 0);               /* wLcdLayout */
    put8(c, 0); put8(c, 1);    /* bPINSupport, bMaxCCIDBusySlots */
}

static struct device *new_device(const char *label, unsigned address, uint16_t vendor,
                                 uint16_t product_id, uint16_t bcd_device,
                                 const char *manufacturer, const char *product_name,
                                 const char *serial, uint8_t device_class)
{
    struct device *d = g_new0(struct device, 1);
    d->label = label;
    d->address = address;
    d->vendor = vendor;
    d->product_id = product_id;
    d->bcd_device = bcd_device;
    d->manufacturer = g_strdup(manufacturer);
    d->product_name = g_strdup(product_name);
    d->serial = g_strdup(serial);
    d->ccid_interface = -1;
    d->fifo_fd = -1;
    g_mutex_init(&d->lock);
    g_queue_init(&d->urbs);
    g_queue_init(&d->done);
    g_queue_init(&d->to_host);
    d->from_host = g_byte_array_new();

    GByteArray *dd = d->device_descriptor = g_byte_array_new();
    put8(dd, 18); put8(dd, 0x01); put16(dd, 0x0200);
    put8(dd, device_class); put8(dd, 0); put8(dd, device_class == 0x09 ? 1 : 0);
    put8(dd, 64); put16(dd, vendor); put16(dd, product_id); put16(dd, bcd_device);
    put8(dd, 1); put8(dd, 2); put8(dd, serial ? 3 : 0); put8(dd, 1);
    return d;
}

/* Ends the configuration descriptor: header with wTotalLength first. */
static void finish_config(struct device *d, GByteArray *body, uint8_t attributes, unsigned max_power_ma)
{
    GByteArray *c = d->config_descriptor = g_byte_array_new();
    put8(c, 9); put8(c, 0x02); put16(c, 9 + body->len); put8(c, d->interface_count);
    put8(c, 1); put8(c, 0); put8(c, attributes); put8(c, max_power_ma / 2);
    g_byte_array_append(c, body->data, body->len);
    g_byte_array_unref(body);
}

static struct device *new_yubikey(const char *label, unsigned address, const struct product *p,
                                  const char *serial)
{
    /* bcdDevice: firmware 5.4.3, the version the virtual key's SELECT
     * answers (79 03 05 04 03); a NEO says 3.4.4. */
    struct device *d = new_device(label, address, VENDOR_YUBICO, p->id, p->neo ? 0x0344 : 0x0543,
                                  "Yubico", p->name, serial, 0);
    GByteArray *body = g_byte_array_new();
    if (p->otp) {
        struct interface *i = put_interface(d, body, 0x03, 0x01, 0x01, 1, "usbhid");
        put_hid(body, 71);
        put_endpoint(body, i, 0x81, 0x03, 8, 10);
    }
    if (p->fido) {
        struct interface *i = put_interface(d, body, 0x03, 0x00, 0x00, 2, "usbhid");
        put_hid(body, 34);
        put_endpoint(body, i, 0x04, 0x03, 64, 2);
        put_endpoint(body, i, 0x84, 0x03, 64, 2);
    }
    if (p->ccid) {
        d->ccid_interface = d->interface_count;
        d->ccid_max_message = p->neo ? 1400 : 3072;
        d->ccid_out = 0x02;
        d->ccid_in = 0x82;
        d->ccid_interrupt = 0x83;
        struct interface *i = put_interface(d, body, 0x0B, 0x00, 0x00, 3, NULL);
        put_ccid(body, d->ccid_max_message);
        put_endpoint(body, i, d->ccid_out, 0x02, 64, 0);
        put_endpoint(body, i, d->ccid_in, 0x02, 64, 0);
        put_endpoint(body, i, d->ccid_interrupt, 0x03, 8, 255);
    }
    finish_config(d, body, 0x80, 30);
    return d;
}

static struct device *new_root_hub(void)
{
    struct device *d = new_device("root hub", 1, 0x1D6B, 0x0002, 0x0601, "Linux 6.1.0 xhci-hcd",
                                  "xHCI Host Controller", "0000:00:14.0", 0x09);
    GByteArray *body = g_byte_array_new();
    struct interface *i = put_interface(d, body, 0x09, 0x00, 0x00, 1, "hub");
    put_endpoint(body, i, 0x81, 0x03, 4, 12);
    finish_config(d, body, 0xE0, 0);
    return d;
}

/* The device in umockdev's text format (umockdev_testbed_add_from_string):
 * A: sysfs attributes (\n escaped, as sysfs ends each with a newline),
 * H: binary attributes in hex, E: udev properties, N: the node. */
static char *describe(const struct device *d, const char *sysname)
{
    GString *s = g_string_new(NULL);
    unsigned minor = (BUS - 1) * 128 + (d->address - 1);
    GString *ifaces = g_string_new(":");
    for (int i = 0; i < d->interface_count; i++)
        g_string_append_printf(ifaces, "%02x%02x%02x:", d->interfaces[i].class_,
                               d->interfaces[i].subclass, d->interfaces[i].protocol);
    char *model = g_strdup(d->product_name);
    g_strdelimit(model, " ", '_');

    g_string_append_printf(s, "P: /devices/pci0000:00/0000:00:14.0/%s%s\n",
                           d->address == 1 ? "" : "usb1/", sysname);
    g_string_append_printf(s, "N: bus/usb/%03u/%03u\n", BUS, d->address);
    g_string_append(s, "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\n");
    g_string_append_printf(s, "E: DEVNAME=/dev/bus/usb/%03u/%03u\n", BUS, d->address);
    g_string_append_printf(s, "E: PRODUCT=%x/%x/%x\n", d->vendor, d->product_id, d->bcd_device);
    g_string_append_printf(s, "E: BUSNUM=%03u\nE: DEVNUM=%03u\n", BUS, d->address);
    g_string_append_printf(s, "E: MAJOR=189\nE: MINOR=%u\n", minor);
    g_string_append_printf(s, "E: ID_VENDOR_ID=%04x\nE: ID_MODEL_ID=%04x\n", d->vendor, d->product_id);
    g_string_append_printf(s, "E: ID_MODEL=%s\nE: ID_USB_INTERFACES=%s\n", model, ifaces->str);
    if (d->ccid_interface >= 0)
        g_string_append(s, "E: ID_SMARTCARD_READER=1\n");
    g_string_append_printf(s, "A: dev=189:%u\\n\n", minor);
    g_string_append_printf(s, "A: busnum=%u\\n\nA: devnum=%u\\n\n", BUS, d->address);
    g_string_append_printf(s, "A: devpath=%s\\n\n", d->address == 1 ? "0" : sysname + 2);
    g_string_append_printf(s, "A: speed=%s\\n\n", d->address == 1 ? "480" : "12");
    g_string_append(s, "A: version= 2.00\\n\nA: bConfigurationValue=1\\n\nA: bNumConfigurations=1\\n\n");
    g_string_append_printf(s, "A: bNumInterfaces=%2d\\n\n", d->interface_count);
    g_string_append_printf(s, "A: idVendor=%04x\\n\nA: idProduct=%04x\\n\nA: bcdDevice=%04x\\n\n",
                           d->vendor, d->product_id, d->bcd_device);
    g_string_append_printf(s, "A: manufacturer=%s\\n\nA: product=%s\\n\n", d->manufacturer, d->product_name);
    if (d->serial)
        g_string_append_printf(s, "A: serial=%s\\n\n", d->serial);
    g_string_append(s, "H: descriptors=");
    GByteArray *both[] = {d->device_descriptor, d->config_descriptor};
    for (size_t k = 0; k < 2; k++)
        for (guint i = 0; i < both[k]->len; i++)
            g_string_append_printf(s, "%02X", both[k]->data[i]);
    g_string_append(s, "\n\n");

    g_string_free(ifaces, TRUE);
    g_free(model);
    return g_string_free(s, FALSE);
}

/* ---------------------------------------------------------------------
 * URBs. All under device->lock.
 */
static struct usbdevfs_urb *urb_struct(struct urb *u)
{
    return (struct usbdevfs_urb *) u->data->data;
}

/* Makes the clients' poll() on the node report POLLOUT exactly while an
 * URB waits to be reaped. A pipe polls writable while any of its 16
 * page-slots is free, so: drained = writable, 16 full pages = not. */
static void update_poll(struct device *d)
{
    static uint8_t page[4096];
    bool reapable = !g_queue_is_empty(&d->done);
    if (d->fifo_fd < 0 || reapable == d->reapable)
        return;
    if (reapable) {
        while (read(d->fifo_fd, page, sizeof page) > 0)
            ;
    } else {
        while (write(d->fifo_fd, page, sizeof page) > 0)
            ;
    }
    d->reapable = reapable;
}

static void complete_urb(struct device *d, struct urb *u, int status, int actual_length)
{
    urb_struct(u)->status = status;
    urb_struct(u)->actual_length = actual_length;
    u->done = true;
    g_queue_push_tail(&d->done, u);
    update_poll(d);
}

static void free_urb(struct urb *u)
{
    g_clear_object(&u->buffer);
    g_object_unref(u->data);
    g_object_unref(u->client);
    g_free(u);
}

static struct interface *interface_of_endpoint(struct device *d, uint8_t endpoint)
{
    for (int i = 0; i < d->interface_count; i++)
        for (int e = 0; e < d->interfaces[i].endpoint_count; e++)
            if (d->interfaces[i].endpoints[e] == endpoint)
                return &d->interfaces[i];
    return NULL;
}

/* Hands whole CCID messages to waiting bulk-IN URBs, a message per URB
 * (a device ends each message with a short packet), and a pending
 * NotifySlotChange to a waiting interrupt URB. */
static void deliver(struct device *d)
{
    for (GList *l = d->urbs.head; l; l = l->next) {
        struct urb *u = l->data;
        struct usbdevfs_urb *s = urb_struct(u);
        if (u->done)
            continue;
        if (s->endpoint == d->ccid_in && !g_queue_is_empty(&d->to_host)) {
            GByteArray *m = g_queue_peek_head(&d->to_host);
            size_t n = MIN((size_t) s->buffer_length, m->len - d->to_host_sent);
            if (n)
                memcpy(u->buffer->data, m->data + d->to_host_sent, n);
            d->to_host_sent += n;
            if (d->to_host_sent == m->len) {
                g_byte_array_unref(g_queue_pop_head(&d->to_host));
                d->to_host_sent = 0;
            }
            complete_urb(d, u, 0, n);
        } else if (s->endpoint == d->ccid_interrupt && d->slot_change_pending && s->buffer_length >= 2) {
            /* bmSlotICCState: bit 0 present, bit 1 changed. */
            u->buffer->data[0] = RDR_TO_PC_NOTIFY_SLOT_CHANGE;
            u->buffer->data[1] = 0x02 | (d->card->present ? 0x01 : 0x00);
            d->slot_change_pending = false;
            complete_urb(d, u, 0, 2);
        }
    }
}

static void to_host(struct device *d, GByteArray *message)
{
    if (verbose) {
        char *h = hex(message->data, message->len);
        debug("%s -> host: %s", d->label, h);
        g_free(h);
    }
    g_queue_push_tail(&d->to_host, message);
    deliver(d);
}

/* ---------------------------------------------------------------------
 * Control transfers on endpoint 0: the standard requests lsusb and libusb
 * send. Fills `data` (wLength bytes) and returns the length, or -EPIPE
 * for a stall, like a device that does not know the request.
 */
static int string_descriptor(const struct device *d, unsigned index, uint8_t *out, unsigned max)
{
    const char *text;
    uint8_t buf[255];
    unsigned n;
    if (index == 0) {
        buf[0] = 4; buf[1] = 0x03; buf[2] = 0x09; buf[3] = 0x04; /* en-US */
        n = 4;
    } else {
        text = index == 1 ? d->manufacturer : index == 2 ? d->product_name
             : index == 3 ? d->serial : NULL;
        if (!text)
            return -EPIPE;
        n = 2;
        for (const char *c = text; *c && n + 2 <= sizeof buf - 1; c++) {
            buf[n++] = (uint8_t) *c;
            buf[n++] = 0;
        }
        buf[0] = n;
        buf[1] = 0x03;
    }
    n = MIN(n, max);
    memcpy(out, buf, n);
    return n;
}

static int control(struct device *d, const uint8_t *setup, uint8_t *data)
{
    uint8_t type = setup[0], request = setup[1];
    unsigned value = setup[2] | setup[3] << 8, length = setup[6] | setup[7] << 8;
    GByteArray *source = NULL;

    if (type == 0x80 && request == 0x06) { /* GET_DESCRIPTOR */
        switch (value >> 8) {
        case 0x01: source = d->device_descriptor; break;
        case 0x02: if ((value & 0xFF) == 0) source = d->config_descriptor; break;
        case 0x03: return string_descriptor(d, value & 0xFF, data, length);
        default: break; /* device qualifier, BOS...: a full-speed USB 2.0 device stalls */
        }
        if (!source)
            return -EPIPE;
        unsigned n = MIN(length, source->len);
        memcpy(data, source->data, n);
        return n;
    }
    if (type == 0x80 && request == 0x00 && length >= 2) { /* GET_STATUS: bus powered */
        data[0] = data[1] = 0;
        return 2;
    }
    if (type == 0x80 && request == 0x08 && length >= 1) { /* GET_CONFIGURATION */
        data[0] = 1;
        return 1;
    }
    if ((type & 0x80) == 0 && type <= 0x02 && length == 0)
        return 0; /* SET_CONFIGURATION, SET_FEATURE, CLEAR_FEATURE...: accepted */
    if (type == 0x21 && request == 0x01 && d->ccid_interface >= 0)
        return 0; /* CCID ABORT: nothing runs long enough to abort */
    return -EPIPE;
}

/* ---------------------------------------------------------------------
 * usbdevfs ioctls.
 */
static struct interface *find_interface(struct device *d, unsigned number)
{
    for (int i = 0; i < d->interface_count; i++)
        if (d->interfaces[i].number == number)
            return &d->interfaces[i];
    return NULL;
}

/* usbfs's claimintf(): 0 or a positive errno. */
static int claim(struct device *d, UMockdevIoctlClient *client, unsigned number)
{
    struct interface *i = find_interface(d, number);
    if (!i)
        return ENOENT;
    if (i->claimed_by == client)
        return 0;
    if (i->claimed_by || i->driver_bound)
        return EBUSY;
    if (d->busy && (int) (i - d->interfaces) == d->ccid_interface)
        return EBUSY; /* --busy: as if pcscd had claimed it */
    i->claimed_by = client;
    return 0;
}

static int submit(struct device *d, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
    GError *error = NULL;
    UMockdevIoctlData *data = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), &error);
    if (!data) {
        logf_("SUBMITURB: cannot read the URB: %s", error ? error->message : "null");
        g_clear_error(&error);
        return EFAULT;
    }
    struct usbdevfs_urb *s = (struct usbdevfs_urb *) data->data;
    struct interface *owner = NULL;
    if (s->endpoint & 0x7F) {
        owner = interface_of_endpoint(d, s->endpoint);
        /* usbfs claims an unclaimed interface on first use, and fails
         * where it cannot. */
        int r = owner ? claim(d, client, owner->number) : ENOENT;
        if (r) {
            g_object_unref(data);
            return r;
        }
    }
    if (s->buffer_length < 0 || (s->type == USBDEVFS_URB_TYPE_CONTROL && s->buffer_length < 8)) {
        g_object_unref(data);
        return EINVAL;
    }

    struct urb *u = g_new0(struct urb, 1);
    u->client = g_object_ref(client);
    u->data = data;
    u->client_addr = data->client_addr;
    if (s->buffer_length > 0) {
        u->buffer = umockdev_ioctl_data_resolve(data, G_STRUCT_OFFSET(struct usbdevfs_urb, buffer),
                                                s->buffer_length, &error);
        if (!u->buffer) {
            logf_("SUBMITURB: cannot read the buffer: %s", error ? error->message : "null");
            g_clear_error(&error);
            free_urb(u);
            return EFAULT;
        }
    }
    g_queue_push_tail(&d->urbs, u);

    if (s->type == USBDEVFS_URB_TYPE_CONTROL) {
        int n = control(d, u->buffer->data, u->buffer->data + 8);
        if (verbose)
            debug("%s control %02X %02X %02X%02X -> %d", d->label, u->buffer->data[0],
                  u->buffer->data[1], u->buffer->data[3], u->buffer->data[2], n);
        complete_urb(d, u, n < 0 ? n : 0, n < 0 ? 0 : n);
    } else if (s->endpoint == d->ccid_out && d->card) {
        /* The device takes the whole transfer at once; a CCID message can
         * span transfers, so bytes gather until one is whole. */
        if (s->buffer_length)
            g_byte_array_append(d->from_host, u->buffer->data, s->buffer_length);
        complete_urb(d, u, 0, s->buffer_length);
        while (d->from_host->len >= 10) {
            const uint8_t *h = d->from_host->data;
            uint32_t length = h[1] | h[2] << 8 | h[3] << 16 | (uint32_t) h[4] << 24;
            if (length > d->ccid_max_message - 10) {
                /* Unframeable: answer the header's command with
                 * "bad dwLength" and drop what came. */
                GByteArray *m = g_byte_array_sized_new(10);
                g_byte_array_append(m, h, 10);
                m->data[1] = h[0];
                m->data[2] = m->data[3] = m->data[4] = 0;
                m->data[0] = QUEUED_BAD_LENGTH;
                g_queue_push_tail(&d->card->requests, m);
                g_byte_array_set_size(d->from_host, 0);
                break;
            }
            if (d->from_host->len < 10 + length)
                break;
            GByteArray *m = g_byte_array_sized_new(10 + length);
            g_byte_array_append(m, h, 10 + length);
            g_byte_array_remove_range(d->from_host, 0, 10 + length);
            if (verbose) {
                /* Logged on arrival too: the card thread logs a message only
                 * when it serves it, which a busy slot (a touch wait) delays. */
                char *text = hex(m->data, m->len);
                debug("%s received: %s", d->label, text);
                g_free(text);
            }
            g_queue_push_tail(&d->card->requests, m);
        }
        uint64_t one = 1;
        if (!g_queue_is_empty(&d->card->requests) && write(d->card->wake_fd, &one, sizeof one) < 0)
            logf_("cannot wake the card thread: %s", g_strerror(errno));
    } else if (s->endpoint & 0x80) {
        deliver(d); /* bulk-IN and interrupt-IN wait for something to say */
    } else {
        complete_urb(d, u, 0, s->buffer_length); /* FIDO output: swallowed */
    }
    return 0;
}

static int reap(struct device *d, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
    struct urb *u = NULL;
    for (GList *l = d->done.head; l; l = l->next) {
        struct urb *candidate = l->data;
        if (candidate->client == client) {
            u = candidate;
            g_queue_delete_link(&d->done, l);
            break;
        }
    }
    if (!u)
        return EAGAIN;
    g_queue_remove(&d->urbs, u);
    update_poll(d);

    GError *error = NULL;
    UMockdevIoctlData *out = umockdev_ioctl_data_resolve(arg, 0, sizeof(void *), &error);
    if (!out) {
        logf_("REAPURB: cannot read the out pointer: %s", error ? error->message : "null");
        g_clear_error(&error);
        free_urb(u);
        return EFAULT;
    }
    /* *out = the client's own URB; the URB's new status, length and buffer
     * are written back into the client when the ioctl completes. */
    umockdev_ioctl_data_set_ptr(out, 0, u->data);
    g_object_unref(out);
    free_urb(u);
    return 0;
}

static int discard(struct device *d, UMockdevIoctlClient *client, gulong client_addr)
{
    for (GList *l = d->urbs.head; l; l = l->next) {
        struct urb *u = l->data;
        if (u->client == client && u->client_addr == client_addr && !u->done) {
            complete_urb(d, u, -ENOENT, 0);
            return 0;
        }
    }
    return EINVAL;
}

/* What a client leaves behind when its fd closes (or it dies): its URBs
 * and claims go, as in usbfs. */
static void on_client_connected_changed(GObject *object, GParamSpec *pspec, gpointer user_data)
{
    (void) pspec;
    UMockdevIoctlClient *client = UMOCKDEV_IOCTL_CLIENT(object);
    struct device *d = user_data;
    if (umockdev_ioctl_client_get_connected(client))
        return;
    g_mutex_lock(&d->lock);
    for (GList *l = d->urbs.head; l;) {
        GList *next = l->next;
        struct urb *u = l->data;
        if (u->client == client) {
            g_queue_remove(&d->done, u);
            g_queue_delete_link(&d->urbs, l);
            free_urb(u);
        }
        l = next;
    }
    for (int i = 0; i < d->interface_count; i++)
        if (d->interfaces[i].claimed_by == client)
            d->interfaces[i].claimed_by = NULL;
    update_poll(d);
    g_mutex_unlock(&d->lock);
    debug("%s: a client closed the device", d->label);
}

static void on_client_connected(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer user_data)
{
    (void) handler;
    g_signal_connect(client, "notify::connected", G_CALLBACK(on_client_connected_changed), user_data);
}

/* read() on a usbfs node gives the descriptors, as sysfs does (libusb reads
 * them so only without sysfs). Each client reads from its own offset. */
static gboolean on_read(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer user_data)
{
    (void) handler;
    struct device *d = user_data;
    UMockdevIoctlData *buffer = umockdev_ioctl_client_get_arg(client);
    gsize offset = GPOINTER_TO_SIZE(g_object_get_data(G_OBJECT(client), "offset"));
    gsize total = d->device_descriptor->len + d->config_descriptor->len, n = 0;
    while (offset + n < total && n < (gsize) buffer->data_len) {
        gsize at = offset + n;
        buffer->data[n++] = at < d->device_descriptor->len ? d->device_descriptor->data[at]
            : d->config_descriptor->data[at - d->device_descriptor->len];
    }
    g_object_set_data(G_OBJECT(client), "offset", GSIZE_TO_POINTER(offset + n));
    umockdev_ioctl_client_complete(client, n, 0);
    return TRUE;
}

/* usbfs nodes cannot be written. */
static gboolean on_write(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer user_data)
{
    (void) handler;
    (void) user_data;
    umockdev_ioctl_client_complete(client, -1, EINVAL);
    return TRUE;
}

/* Reads the ioctl argument as a pointer to `size` bytes of the client
 * (a new reference: the caller unrefs it). */
static UMockdevIoctlData *argument(UMockdevIoctlData *arg, size_t size)
{
    return umockdev_ioctl_data_resolve(arg, 0, size, NULL);
}

static gboolean on_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer user_data)
{
    (void) handler;
    struct device *d = user_data;
    gulong request = umockdev_ioctl_client_get_request(client);
    UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
    UMockdevIoctlData *p = NULL;
    int error = 0;
    long result = 0;

    g_mutex_lock(&d->lock);
    switch (request) {
    case USBDEVFS_GET_CAPABILITIES:
        if (!(p = argument(arg, sizeof(uint32_t)))) { error = EFAULT; break; }
        /* Like a kernel on an xHCI port: one URB per transfer of any size,
         * zero-length packets on request. */
        *(uint32_t *) p->data = USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_BULK_CONTINUATION
            | USBDEVFS_CAP_NO_PACKET_SIZE_LIM | USBDEVFS_CAP_REAP_AFTER_DISCONNECT;
        break;
    case USBDEVFS_CONNECTINFO:
        if (!(p = argument(arg, sizeof(struct usbdevfs_connectinfo)))) { error = EFAULT; break; }
        ((struct usbdevfs_connectinfo *) p->data)->devnum = d->address;
        ((struct usbdevfs_connectinfo *) p->data)->slow = 0;
        break;
    case USBDEVFS_GET_SPEED:
        result = d->address == 1 ? 3 : 2; /* USB_SPEED_HIGH, USB_SPEED_FULL */
        break;
    case USBDEVFS_GETDRIVER: {
        if (!(p = argument(arg, sizeof(struct usbdevfs_getdriver)))) { error = EFAULT; break; }
        struct usbdevfs_getdriver *g = (struct usbdevfs_getdriver *) p->data;
        struct interface *i = find_interface(d, g->interface);
        const char *name = NULL;
        if (i && i->driver_bound)
            name = i->driver;
        else if (i && (i->claimed_by || (d->busy && (int) (i - d->interfaces) == d->ccid_interface)))
            name = "usbfs"; /* what the kernel says of a claimed interface */
        if (!i)
            error = EINVAL;
        else if (!name)
            error = ENODATA;
        else
            g_strlcpy(g->driver, name, sizeof g->driver);
        break;
    }
    case USBDEVFS_CLAIMINTERFACE:
        if (!(p = argument(arg, sizeof(unsigned int)))) { error = EFAULT; break; }
        error = claim(d, client, *(unsigned int *) p->data);
        break;
    case USBDEVFS_RELEASEINTERFACE: {
        if (!(p = argument(arg, sizeof(unsigned int)))) { error = EFAULT; break; }
        struct interface *i = find_interface(d, *(unsigned int *) p->data);
        if (!i || i->claimed_by != client)
            error = EINVAL;
        else
            i->claimed_by = NULL;
        break;
    }
    case USBDEVFS_DISCONNECT_CLAIM: {
        if (!(p = argument(arg, sizeof(struct usbdevfs_disconnect_claim)))) { error = EFAULT; break; }
        struct usbdevfs_disconnect_claim *c = (struct usbdevfs_disconnect_claim *) p->data;
        struct interface *i = find_interface(d, c->interface);
        if (!i) { error = ENOENT; break; }
        if (i->driver_bound && i->claimed_by == NULL) {
            bool named = strncmp(c->driver, i->driver, sizeof c->driver) == 0;
            if (((c->flags & USBDEVFS_DISCONNECT_CLAIM_IF_DRIVER) && !named)
                || ((c->flags & USBDEVFS_DISCONNECT_CLAIM_EXCEPT_DRIVER) && named)) {
                error = EBUSY;
                break;
            }
            i->driver_bound = false;
        }
        error = claim(d, client, c->interface);
        break;
    }
    case USBDEVFS_IOCTL: {
        if (!(p = argument(arg, sizeof(struct usbdevfs_ioctl)))) { error = EFAULT; break; }
        struct usbdevfs_ioctl *c = (struct usbdevfs_ioctl *) p->data;
        struct interface *i = find_interface(d, c->ifno);
        if (!i) { error = EINVAL; break; }
        if (c->ioctl_code == USBDEVFS_DISCONNECT) {
            if (i->driver_bound)
                i->driver_bound = false;
            else
                error = ENODATA;
        } else if (c->ioctl_code == USBDEVFS_CONNECT) {
            if (i->driver && !i->claimed_by)
                i->driver_bound = true;
        } else {
            error = ENOTTY;
        }
        break;
    }
    case USBDEVFS_SETINTERFACE: {
        if (!(p = argument(arg, sizeof(struct usbdevfs_setinterface)))) { error = EFAULT; break; }
        struct usbdevfs_setinterface *s = (struct usbdevfs_setinterface *) p->data;
        if (!find_interface(d, s->interface) || s->altsetting != 0)
            error = EINVAL;
        else
            error = claim(d, client, s->interface);
        break;
    }
    case USBDEVFS_SETCONFIGURATION:
        if (!(p = argument(arg, sizeof(int)))) { error = EFAULT; break; }
        if (*(int *) p->data != 1)
            error = EINVAL;
        break;
    case USBDEVFS_CLEAR_HALT:
    case USBDEVFS_RESETEP:
        if (!(p = argument(arg, sizeof(unsigned int)))) { error = EFAULT; break; }
        if (!interface_of_endpoint(d, *(unsigned int *) p->data & 0xFF))
            error = ENOENT;
        break;
    case USBDEVFS_RESET:
        /* A reset ends whatever the slot was doing: the card is powered
         * off on the card thread's next request. */
        if (d->card) {
            g_byte_array_set_size(d->from_host, 0);
            while (!g_queue_is_empty(&d->to_host))
                g_byte_array_unref(g_queue_pop_head(&d->to_host));
            d->to_host_sent = 0;
            GByteArray *m = g_byte_array_new();
            uint8_t off[10] = {QUEUED_RESET};
            g_byte_array_append(m, off, 10);
            g_queue_push_tail(&d->card->requests, m);
            uint64_t one = 1;
            if (write(d->card->wake_fd, &one, sizeof one) < 0)
                logf_("cannot wake the card thread: %s", g_strerror(errno));
        }
        break;
    case USBDEVFS_SUBMITURB:
        error = submit(d, client, arg);
        break;
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY:
        /* REAPURB would block; no client seen here uses it, and blocking
         * the worker thread would stall every other client. */
        error = reap(d, client, arg);
        break;
    case USBDEVFS_DISCARDURB:
        error = discard(d, client, *(gulong *) arg->data);
        break;
    default:
        g_mutex_unlock(&d->lock);
        debug("%s: ioctl 0x%lx not emulated", d->label, request);
        return FALSE; /* umockdev answers ENOTTY */
    }
    g_mutex_unlock(&d->lock);
    g_clear_object(&p);
    if (error)
        result = -1;
    if (verbose && request != USBDEVFS_REAPURBNDELAY && request != USBDEVFS_SUBMITURB)
        debug("%s: ioctl 0x%lx -> %ld %s", d->label, request, result, error ? g_strerror(error) : "");
    umockdev_ioctl_client_complete(client, result, error);
    return TRUE;
}

/* ---------------------------------------------------------------------
 * The card thread: the vpcd-protocol connection and the CCID slot.
 */
/* All of `count` bytes sent (or received), or false when the connection
 * ended. */
static bool transfer_all(int fd, uint8_t *bytes, size_t count, bool sending)
{
    while (count) {
        ssize_t n = sending ? send(fd, bytes, count, MSG_NOSIGNAL) : recv(fd, bytes, count, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        bytes += n;
        count -= n;
    }
    return true;
}

static bool vpcd_send(struct card *c, const uint8_t *payload, size_t count)
{
    uint8_t length[2] = {count >> 8, count & 0xFF};
    return transfer_all(c->conn_fd, length, 2, true)
        && transfer_all(c->conn_fd, (uint8_t *) payload, count, true);
}

static GByteArray *message(uint8_t type, const uint8_t *request, uint8_t status, uint8_t error,
                           uint8_t last, const uint8_t *data, size_t count)
{
    GByteArray *m = g_byte_array_sized_new(10 + count);
    put8(m, type); put32(m, count); put8(m, request[5]); put8(m, request[6]);
    put8(m, status); put8(m, error); put8(m, last);
    if (count)
        g_byte_array_append(m, data, count);
    return m;
}

static void card_says(struct card *c, GByteArray *m)
{
    g_mutex_lock(&c->device->lock);
    to_host(c->device, m);
    g_mutex_unlock(&c->device->lock);
}

static void set_present(struct card *c, bool present)
{
    g_mutex_lock(&c->device->lock);
    c->present = present;
    c->device->slot_change_pending = true;
    deliver(c->device);
    g_cond_broadcast(&c->present_changed);
    g_mutex_unlock(&c->device->lock);
}

static void card_gone(struct card *c)
{
    if (c->conn_fd < 0)
        return;
    close(c->conn_fd);
    c->conn_fd = -1;
    c->powered = false;
    debug("the card went away");
    set_present(c, false);
}

/* The card's answer to what was just sent: one framed message, NULL when
 * the connection ended. While it has not come, a time extension goes to
 * the host every time_extension_ms (when set). */
static GByteArray *vpcd_answer(struct card *c, const uint8_t *request)
{
    uint8_t length[2];
    for (;;) {
        struct pollfd p = {.fd = c->conn_fd, .events = POLLIN};
        int r = poll(&p, 1, c->time_extension_ms > 0 ? c->time_extension_ms : -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return NULL;
        if (r == 0) {
            card_says(c, message(RDR_TO_PC_DATA_BLOCK, request, TIME_EXTENSION, 0x01, 0, NULL, 0));
            continue;
        }
        break;
    }
    if (!transfer_all(c->conn_fd, length, 2, false))
        return NULL;
    size_t count = length[0] << 8 | length[1];
    GByteArray *a = g_byte_array_sized_new(count);
    g_byte_array_set_size(a, count);
    if (count && !transfer_all(c->conn_fd, a->data, count, false)) {
        g_byte_array_unref(a);
        return NULL;
    }
    return a;
}

static uint8_t slot_state(const struct card *c)
{
    return c->conn_fd < 0 ? ICC_ABSENT : c->powered ? ICC_ACTIVE : ICC_INACTIVE;
}

/* The type of the answer to a host message (CCID 1.1 §6.1). */
static uint8_t answer_type(uint8_t request)
{
    switch (request) {
    case PC_TO_RDR_ICC_POWER_ON:
    case PC_TO_RDR_XFR_BLOCK:
        return RDR_TO_PC_DATA_BLOCK;
    case PC_TO_RDR_GET_PARAMETERS:
    case PC_TO_RDR_RESET_PARAMETERS:
    case PC_TO_RDR_SET_PARAMETERS:
        return RDR_TO_PC_PARAMETERS;
    case PC_TO_RDR_ESCAPE:
        return RDR_TO_PC_ESCAPE;
    case PC_TO_RDR_SET_DATA_RATE:
        return RDR_TO_PC_DATA_RATE;
    default:
        return RDR_TO_PC_SLOT_STATUS;
    }
}

/* Answers one CCID message from the host. */
static void serve_request(struct card *c, const uint8_t *r, size_t count)
{
    const uint8_t *data = r + 10;
    size_t length = count - 10;
    uint8_t failed = COMMAND_FAILED | slot_state(c);

    if (r[0] == QUEUED_RESET) {
        if (c->powered && !vpcd_send(c, (const uint8_t[]) {0x00}, 1))
            card_gone(c);
        c->powered = false;
        return;
    }
    if (verbose) {
        char *h = hex(r, count);
        debug("host -> %s: %s", c->device->label, h);
        g_free(h);
    }
    if (r[0] == QUEUED_BAD_LENGTH) {
        card_says(c, message(answer_type(r[1]), r, failed, ERROR_BAD_LENGTH, 0, NULL, 0));
        return;
    }
    if (r[5] != 0) {
        card_says(c, message(answer_type(r[0]), r, COMMAND_FAILED | ICC_ABSENT, ERROR_BAD_SLOT, 0, NULL, 0));
        return;
    }

    switch (r[0]) {
    case PC_TO_RDR_ICC_POWER_ON:
    case PC_TO_RDR_XFR_BLOCK: {
        if (c->conn_fd < 0 || (r[0] == PC_TO_RDR_XFR_BLOCK && !c->powered)) {
            card_says(c, message(RDR_TO_PC_DATA_BLOCK, r, failed, ERROR_ICC_MUTE, 0, NULL, 0));
            return;
        }
        if (r[0] == PC_TO_RDR_XFR_BLOCK && length < 2) {
            /* vpcd would take one byte for a control message: not an APDU. */
            card_says(c, message(RDR_TO_PC_DATA_BLOCK, r, failed, ERROR_BAD_LENGTH, 0, NULL, 0));
            return;
        }
        /* PowerOn: power-on then get-ATR, as vpcd does for pcscd. */
        bool sent = r[0] == PC_TO_RDR_ICC_POWER_ON
            ? vpcd_send(c, (const uint8_t[]) {0x01}, 1) && vpcd_send(c, (const uint8_t[]) {0x04}, 1)
            : vpcd_send(c, data, length);
        GByteArray *a = sent ? vpcd_answer(c, r) : NULL;
        if (!a) {
            card_gone(c);
            card_says(c, message(RDR_TO_PC_DATA_BLOCK, r, COMMAND_FAILED | ICC_ABSENT, ERROR_ICC_MUTE, 0, NULL, 0));
            return;
        }
        if (r[0] == PC_TO_RDR_ICC_POWER_ON) {
            c->powered = true;
            if (a->len == 0) /* a card without an ATR of its own gets a YubiKey 5's */
                g_byte_array_append(a, yubikey5_atr, sizeof yubikey5_atr);
        }
        card_says(c, message(RDR_TO_PC_DATA_BLOCK, r, ICC_ACTIVE, 0, 0, a->data, a->len));
        g_byte_array_unref(a);
        return;
    }
    case PC_TO_RDR_ICC_POWER_OFF:
        if (c->conn_fd >= 0 && c->powered && !vpcd_send(c, (const uint8_t[]) {0x00}, 1))
            card_gone(c);
        c->powered = false;
        card_says(c, message(RDR_TO_PC_SLOT_STATUS, r, slot_state(c), 0, 0, NULL, 0));
        return;
    case PC_TO_RDR_GET_SLOT_STATUS:
    case PC_TO_RDR_ABORT:
        card_says(c, message(RDR_TO_PC_SLOT_STATUS, r, slot_state(c), 0, 0, NULL, 0));
        return;
    default:
        /* Not supported; the answer's type still matches the command's. */
        card_says(c, message(answer_type(r[0]), r, failed, ERROR_NOT_SUPPORTED, 0, NULL, 0));
        return;
    }
}

static gpointer card_thread(gpointer user_data)
{
    struct card *c = user_data;
    for (;;) {
        struct pollfd p[2] = {
            {.fd = c->wake_fd, .events = POLLIN},
            {.fd = c->conn_fd >= 0 ? c->conn_fd : c->listen_fd, .events = POLLIN},
        };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            fail("card thread: poll: %s", g_strerror(errno));
        }
        if (p[1].revents && c->conn_fd < 0) {
            int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c->conn_fd = fd;
                debug("a card connected");
                set_present(c, true);
            }
        } else if (p[1].revents) {
            /* The card speaks only when asked: anything else is its end. */
            uint8_t junk[64];
            ssize_t n = recv(c->conn_fd, junk, sizeof junk, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                card_gone(c);
        }
        if (p[0].revents) {
            uint64_t count;
            if (read(c->wake_fd, &count, sizeof count) < 0 && errno != EAGAIN)
                fail("card thread: eventfd: %s", g_strerror(errno));
        }
        for (;;) {
            g_mutex_lock(&c->device->lock);
            GByteArray *r = g_queue_pop_head(&c->requests);
            g_mutex_unlock(&c->device->lock);
            if (!r)
                break;
            serve_request(c, r->data, r->len);
            g_byte_array_unref(r);
        }
    }
    return NULL;
}

static struct card *start_card(struct device *d, unsigned port, const char *port_file, int time_extension_ms)
{
    struct card *c = g_new0(struct card, 1);
    c->device = d;
    c->conn_fd = -1;
    c->time_extension_ms = time_extension_ms;
    g_queue_init(&c->requests);
    g_cond_init(&c->present_changed);
    d->card = c;

    c->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(c->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t size = sizeof a;
    if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *) &a, sizeof a) < 0
        || listen(c->listen_fd, 1) < 0 || getsockname(c->listen_fd, (struct sockaddr *) &a, &size) < 0)
        fail("cannot listen on 127.0.0.1:%u: %s", port, g_strerror(errno));
    if (port_file) {
        /* Written whole under another name, then renamed: a reader never
         * sees half a number. */
        char *tmp = g_strdup_printf("%s.tmp", port_file);
        char *text = g_strdup_printf("%u\n", ntohs(a.sin_port));
        GError *error = NULL;
        if (!g_file_set_contents(tmp, text, -1, &error) || rename(tmp, port_file) < 0)
            fail("cannot write %s: %s", port_file, error ? error->message : g_strerror(errno));
        g_free(tmp);
        g_free(text);
    }
    debug("listening for the card on 127.0.0.1:%u", ntohs(a.sin_port));
    c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->wake_fd < 0)
        fail("eventfd: %s", g_strerror(errno));
    g_thread_unref(g_thread_new("card", card_thread, c));
    return c;
}

/* ---------------------------------------------------------------------
 * The testbed and COMMAND.
 */
static volatile sig_atomic_t child_pid, pending_signal;

/* SIGTERM, SIGINT, SIGHUP: passed on to COMMAND once it runs; before, they
 * end the wait for the card (and this program, cleanly). */
static void forward_signal(int signal)
{
    pending_signal = signal;
    if (child_pid > 0)
        kill(child_pid, signal);
}

static void add_device(struct device *d, const char *sysname)
{
    GError *error = NULL;
    char *text = describe(d, sysname);
    if (!umockdev_testbed_add_from_string(testbed, text, &error))
        fail("cannot add %s to the testbed: %s", d->label, error->message);
    g_free(text);

    char *node = g_strdup_printf("/dev/bus/usb/%03u/%03u", BUS, d->address);
    char *root = umockdev_testbed_get_root_dir(testbed);
    char *path = g_build_filename(root, node, NULL);
    g_free(root);
    if (unlink(path) < 0 || mkfifo(path, 0644) < 0
        || (d->fifo_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
        fail("cannot make %s a FIFO: %s", path, g_strerror(errno));
    d->reapable = true;
    update_poll(d); /* fills it: nothing to reap yet */
    g_free(path);

    UMockdevIoctlBase *handler = umockdev_ioctl_base_new();
    g_signal_connect(handler, "handle-ioctl", G_CALLBACK(on_ioctl), d);
    g_signal_connect(handler, "handle-read", G_CALLBACK(on_read), d);
    g_signal_connect(handler, "handle-write", G_CALLBACK(on_write), d);
    g_signal_connect(handler, "client-connected", G_CALLBACK(on_client_connected), d);
    if (!umockdev_testbed_attach_ioctl(testbed, node, handler, &error))
        fail("cannot attach the ioctl handler to %s: %s", node, error->message);
    g_free(node);
}

static unsigned parse_number(const char *option, const char *text, int base, unsigned max)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, base);
    if (errno || !*text || *end || v > max)
        fail("%s: not a number up to %u: %s", option, max, text);
    return v;
}

static G_NORETURN void usage(int status)
{
    fputs("usage: umockdev_yubikey --listen-port P [--port-file F] [--wait-for-key S]\n"
          "         [--product 0407] [--serial N] [--busy] [--also-non-ccid]\n"
          "         [--time-extension MS] [--verbose] -- COMMAND ARGS...\n", stderr);
    exit(status);
}

int main(int argc, char **argv)
{
    int port = -1, time_extension_ms = 0, wait_seconds = 0, i;
    unsigned product_id = 0x0407;
    const char *serial = NULL, *port_file = NULL;
    bool busy = false, also_non_ccid = false;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--") == 0) { i++; break; }
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) usage(0);
        else if (strcmp(a, "--busy") == 0) busy = true;
        else if (strcmp(a, "--also-non-ccid") == 0) also_non_ccid = true;
        else if (strcmp(a, "--verbose") == 0) verbose = true;
        else if (!has_value) fail("%s: missing value, or unknown option (see --help)", a);
        else if (strcmp(a, "--listen-port") == 0) port = parse_number(a, argv[++i], 10, 65535);
        else if (strcmp(a, "--port-file") == 0) port_file = argv[++i];
        else if (strcmp(a, "--product") == 0) product_id = parse_number(a, argv[++i], 16, 0xFFFF);
        else if (strcmp(a, "--serial") == 0) serial = argv[++i];
        else if (strcmp(a, "--time-extension") == 0) time_extension_ms = parse_number(a, argv[++i], 10, 600000);
        else if (strcmp(a, "--wait-for-key") == 0) wait_seconds = parse_number(a, argv[++i], 10, 3600);
        else fail("unknown option %s (see --help)", a);
    }
    if (i >= argc)
        fail("no command given: umockdev_yubikey [options] -- COMMAND ARGS...");
    if (port < 0)
        fail("--listen-port is required (0: any free port, see --port-file)");
    const struct product *product = find_product(product_id);
    if (!product)
        fail("--product %04x: not a Yubico product id this fixture knows", product_id);
    if (serial && (!*serial || strlen(serial) > 120))
        fail("--serial: 1 to 120 characters");

    /* The parent may have blocked signals (threads in Swift's test runner
     * block nearly all); this program and COMMAND need them. */
    sigset_t all;
    sigemptyset(&all);
    sigaddset(&all, SIGTERM); sigaddset(&all, SIGINT); sigaddset(&all, SIGHUP);
    sigaddset(&all, SIGQUIT); sigaddset(&all, SIGCHLD);
    pthread_sigmask(SIG_UNBLOCK, &all, NULL);

    struct sigaction forward = {.sa_handler = forward_signal};
    sigemptyset(&forward.sa_mask);
    sigaction(SIGTERM, &forward, NULL);
    sigaction(SIGINT, &forward, NULL);
    sigaction(SIGHUP, &forward, NULL);

    main_thread = g_thread_self();
    testbed = umockdev_testbed_new(); /* sets UMOCKDEV_DIR */
    struct device *hub = new_root_hub();
    struct device *key = new_yubikey("key", 2, product, serial);
    key->busy = busy;
    add_device(hub, "usb1");
    add_device(key, "1-1");
    if (also_non_ccid)
        add_device(new_yubikey("FIDO key", 3, find_product(0x0402), NULL), "1-2");
    if (key->ccid_interface >= 0)
        start_card(key, port, port_file, time_extension_ms);
    else
        debug("--product %04x has no CCID interface: no card slot, nothing listens", product_id);

    if (wait_seconds > 0 && key->card) {
        gint64 deadline = g_get_monotonic_time() + wait_seconds * G_TIME_SPAN_SECOND;
        g_mutex_lock(&key->lock);
        while (!key->card->present && !pending_signal && g_get_monotonic_time() < deadline)
            g_cond_wait_until(&key->card->present_changed, &key->lock,
                              MIN(deadline, g_get_monotonic_time() + G_TIME_SPAN_SECOND / 10));
        bool present = key->card->present;
        g_mutex_unlock(&key->lock);
        if (pending_signal) {
            g_object_unref(testbed);
            return 128 + pending_signal;
        }
        if (!present)
            fail("no card connected to the CCID slot within %d s", wait_seconds);
    }

    /* COMMAND: under the preload, told where the key is. */
    const char *preload = g_getenv("LD_PRELOAD");
    char *preloads = preload && *preload ? g_strdup_printf("libumockdev-preload.so.0:%s", preload)
                                         : g_strdup("libumockdev-preload.so.0");
    char bus_text[8], address_text[8];
    snprintf(bus_text, sizeof bus_text, "%u", BUS);
    snprintf(address_text, sizeof address_text, "%u", key->address);

    pid_t pid = fork();
    if (pid < 0)
        fail("fork: %s", g_strerror(errno));
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        setenv("LD_PRELOAD", preloads, 1);
        setenv("LATCHKEY_UMOCKDEV_BUS", bus_text, 1);
        setenv("LATCHKEY_UMOCKDEV_ADDRESS", address_text, 1);
        execvp(argv[i], argv + i);
        fprintf(stderr, "umockdev_yubikey: cannot run %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    child_pid = pid;
    if (pending_signal) /* came between fork() and now */
        kill(pid, pending_signal);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            fail("waitpid: %s", g_strerror(errno));
    child_pid = 0;
    debug("command ended: status 0x%x", status);

    /* Removes $UMOCKDEV_DIR. The card thread and its socket end with the
     * process. */
    g_object_unref(testbed);
    testbed = NULL;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}
