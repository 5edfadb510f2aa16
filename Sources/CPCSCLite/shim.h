#ifndef LATCHKEY_CPCSCLITE_SHIM_H
#define LATCHKEY_CPCSCLITE_SHIM_H

#include <PCSC/winscard.h>
#include <PCSC/pcsclite.h>
#include <PCSC/wintypes.h>

// SCARD_PCI_T0 / SCARD_PCI_T1 are macros that take the address of a global
// (`&g_rgSCardT1Pci`); Swift imports neither the macros nor, usefully, the
// address. These return the protocol control structures pcsc-lite expects as
// the send PCI of SCardTransmit.
static inline const SCARD_IO_REQUEST *latchkey_pci_t0(void) { return SCARD_PCI_T0; }
static inline const SCARD_IO_REQUEST *latchkey_pci_t1(void) { return SCARD_PCI_T1; }

// SCARD_AUTOALLOCATE is `(DWORD)(-1)`, which Swift does not import as a constant.
static inline DWORD latchkey_autoallocate(void) { return SCARD_AUTOALLOCATE; }

#endif
