// Placeholder so the target builds; libusb access comes in the next commit.
import CLibUSB
