/*
 * umockdev_ccid_probe: talks CCID to the emulated YubiKey with plain libusb,
 * to check the fixture (umockdev_yubikey.c) apart from latchkey's own CCID
 * code: when a latchkey test fails under scripts/umockdev-yubikey-env, a
 * passing probe says the fault is latchkey's.
 *
 *   umockdev_ccid_probe [--expect-busy] [--timeout MS] [APDU-HEX...]
 *
 * It lists the Yubico devices, opens the one at $LATCHKEY_UMOCKDEV_BUS /
 * $LATCHKEY_UMOCKDEV_ADDRESS (else the first with a CCID interface), claims
 * its CCID interface, and sends GetSlotStatus, PowerOn, the OATH SELECT,
 * each APDU given, and PowerOff, printing one line each on stdout:
 *
 *   yubico 001/002 1050:0407 ccid
 *   device 001/002 "Yubico" "YubiKey OTP+FIDO+CCID"
 *   ccid interface 2 out 0x02 in 0x82 interrupt 0x83 max 3072
 *   slot 01
 *   atr 3B FD 13 ...
 *   select 79 03 05 04 03 71 08 ... 90 00
 *   apdu 76 05 06 ... 90 00
 *   off 01
 *
 * Time extensions (bStatus 0x80) are counted ("wait N" before the answer).
 * --expect-busy: claiming must fail with LIBUSB_ERROR_BUSY ("claim busy",
 * exit 0). Exit 1, with a line on stderr, when anything else goes wrong.
 *
 * Build: cc -O2 -o umockdev_ccid_probe umockdev_ccid_probe.c \
 *          $(pkg-config --cflags --libs libusb-1.0)
 */
#include <libusb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MESSAGE 3072

static libusb_device_handle *handle;
static unsigned char out_endpoint, in_endpoint;
static unsigned timeout_ms = 5000;
static unsigned char sequence;

static void die(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("umockdev_ccid_probe: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(1);
}

static void print_bytes(const char *label, const unsigned char *bytes, int count)
{
    printf("%s", label);
    for (int i = 0; i < count; i++)
        printf(" %02X", bytes[i]);
    printf("\n");
}

/* One CCID exchange: the message out, then its answer in (after any time
 * extensions). Returns the answer's length; the answer must echo bSeq. */
static int exchange(unsigned char type, const unsigned char *data, int length, unsigned char *answer)
{
    unsigned char message[MAX_MESSAGE] = {type, length & 0xFF, length >> 8, 0, 0, 0, ++sequence};
    int sent, received, waits = 0, r;
    if (length > MAX_MESSAGE - 10)
        die("APDU too long");
    memcpy(message + 10, data, length);
    r = libusb_bulk_transfer(handle, out_endpoint, message, 10 + length, &sent, timeout_ms);
    if (r)
        die("bulk-OUT: %s", libusb_error_name(r));
    for (;;) {
        r = libusb_bulk_transfer(handle, in_endpoint, answer, MAX_MESSAGE, &received, timeout_ms);
        if (r)
            die("bulk-IN: %s", libusb_error_name(r));
        if (received < 10 || answer[6] != sequence)
            die("answer of %d bytes, bSeq %02X for %02X", received, received > 6 ? answer[6] : 0, sequence);
        if (!(answer[7] & 0x80))
            break;
        waits++;
    }
    if (waits)
        printf("wait %d\n", waits);
    return received;
}

static int parse_hex(const char *text, unsigned char *out, int max)
{
    int count = 0;
    for (const char *c = text; *c; c += 2) {
        unsigned value;
        if (!c[1] || count == max || sscanf(c, "%2x", &value) != 1)
            die("not an APDU in hex: %s", text);
        out[count++] = value;
    }
    return count;
}

/* Answers an XfrBlock with data: prints it, or fails on a failed slot. */
static void transmit(const char *label, const unsigned char *apdu, int length)
{
    unsigned char answer[MAX_MESSAGE];
    int n = exchange(0x6F, apdu, length, answer);
    if (answer[0] != 0x80 || (answer[7] & 0x40))
        die("%s: failed, bStatus %02X bError %02X", label, answer[7], answer[8]);
    print_bytes(label, answer + 10, n - 10);
}

int main(int argc, char **argv)
{
    bool expect_busy = false;
    int first_apdu = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--expect-busy") == 0) {
            expect_busy = true;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            timeout_ms = strtoul(argv[++i], NULL, 10);
        } else {
            first_apdu = i;
            break;
        }
    }
    const char *bus_text = getenv("LATCHKEY_UMOCKDEV_BUS"), *address_text = getenv("LATCHKEY_UMOCKDEV_ADDRESS");
    int want_bus = bus_text ? atoi(bus_text) : -1, want_address = address_text ? atoi(address_text) : -1;

    libusb_context *context;
    libusb_device **list;
    int r = libusb_init(&context);
    if (r)
        die("libusb_init: %s", libusb_error_name(r));
    ssize_t count = libusb_get_device_list(context, &list);
    if (count < 0)
        die("libusb_get_device_list: %s", libusb_error_name(count));

    libusb_device *key = NULL;
    int interface = -1, interrupt_endpoint = -1;
    unsigned max_message = 0;
    for (ssize_t i = 0; i < count; i++) {
        struct libusb_device_descriptor dd;
        struct libusb_config_descriptor *config;
        libusb_device *device = list[i];
        if (libusb_get_device_descriptor(device, &dd) || dd.idVendor != 0x1050)
            continue;
        if (libusb_get_active_config_descriptor(device, &config))
            die("no configuration descriptor for %04x:%04x", dd.idVendor, dd.idProduct);
        int ccid = -1;
        for (int k = 0; k < config->bNumInterfaces; k++)
            if (config->interface[k].altsetting[0].bInterfaceClass == 0x0B)
                ccid = k;
        int bus = libusb_get_bus_number(device), address = libusb_get_device_address(device);
        printf("yubico %03d/%03d %04x:%04x %s\n", bus, address, dd.idVendor, dd.idProduct,
               ccid >= 0 ? "ccid" : "no-ccid");
        bool wanted = want_bus >= 0 ? (bus == want_bus && address == want_address) : !key;
        if (ccid >= 0 && wanted) {
            const struct libusb_interface_descriptor *id = &config->interface[ccid].altsetting[0];
            key = device;
            interface = id->bInterfaceNumber;
            for (int e = 0; e < id->bNumEndpoints; e++) {
                unsigned char a = id->endpoint[e].bEndpointAddress;
                if ((id->endpoint[e].bmAttributes & 3) == 3)
                    interrupt_endpoint = a;
                else if (a & 0x80)
                    in_endpoint = a;
                else
                    out_endpoint = a;
            }
            /* dwMaxCCIDMessageLength: bytes 44..47 of the class descriptor. */
            if (id->extra_length >= 48 && id->extra[1] == 0x21)
                max_message = id->extra[44] | id->extra[45] << 8 | id->extra[46] << 16 | (unsigned) id->extra[47] << 24;
        }
        libusb_free_config_descriptor(config);
    }
    if (!key)
        die("no Yubico device with a CCID interface%s", want_bus >= 0 ? " at $LATCHKEY_UMOCKDEV_BUS/ADDRESS" : "");

    if ((r = libusb_open(key, &handle)))
        die("libusb_open: %s", libusb_error_name(r));
    unsigned char manufacturer[128] = "", product[128] = "";
    struct libusb_device_descriptor dd;
    libusb_get_device_descriptor(key, &dd);
    if (libusb_get_string_descriptor_ascii(handle, dd.iManufacturer, manufacturer, sizeof manufacturer) < 0
        || libusb_get_string_descriptor_ascii(handle, dd.iProduct, product, sizeof product) < 0)
        die("cannot read the string descriptors");
    printf("device %03d/%03d \"%s\" \"%s\"\n", libusb_get_bus_number(key), libusb_get_device_address(key),
           manufacturer, product);
    printf("ccid interface %d out 0x%02x in 0x%02x interrupt 0x%02x max %u\n", interface, out_endpoint,
           in_endpoint, interrupt_endpoint, max_message);

    r = libusb_claim_interface(handle, interface);
    if (expect_busy) {
        if (r != LIBUSB_ERROR_BUSY)
            die("claim: %s, not LIBUSB_ERROR_BUSY", r ? libusb_error_name(r) : "succeeded");
        printf("claim busy\n");
        return 0;
    }
    if (r)
        die("claim: %s", libusb_error_name(r));

    unsigned char answer[MAX_MESSAGE];
    exchange(0x65, NULL, 0, answer);
    printf("slot %02X\n", answer[7]);
    int n = exchange(0x62, NULL, 0, answer);
    if (answer[0] != 0x80 || answer[7] != 0x00)
        die("PowerOn failed: bStatus %02X bError %02X", answer[7], answer[8]);
    print_bytes("atr", answer + 10, n - 10);

    static const unsigned char select_oath[] = {0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0x00, 0x00, 0x05, 0x27, 0x21, 0x01};
    transmit("select", select_oath, sizeof select_oath);
    for (int i = first_apdu; i < argc; i++) {
        unsigned char apdu[MAX_MESSAGE];
        transmit("apdu", apdu, parse_hex(argv[i], apdu, sizeof apdu - 10));
    }

    exchange(0x63, NULL, 0, answer);
    printf("off %02X\n", answer[7]);
    libusb_release_interface(handle, interface);
    libusb_close(handle);
    libusb_free_device_list(list, 1);
    libusb_exit(context);
    return 0;
}
