// The directory `pkg-config --cflags libusb-1.0` names (-I/usr/include/libusb-1.0).
#include <libusb-1.0/libusb.h>
