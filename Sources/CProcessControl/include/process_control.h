#ifndef LATCHKEY_PROCESS_CONTROL_H
#define LATCHKEY_PROCESS_CONTROL_H

// Why this shim exists: prctl(2) is variadic in glibc's header, which Swift
// cannot call. Imported only by SystemSupport (ProcessHardening).

/// Marks the process not dumpable: no core dump, and /proc/PID/mem, environ
/// and ptrace attach closed to other non-root processes of the same user.
/// Returns 0, or -1 with errno set. The corresponding C call is
/// `prctl(PR_SET_DUMPABLE, 0)`.
int latchkey_set_not_dumpable(void);

#endif
