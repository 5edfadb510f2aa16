#ifndef LATCHKEY_PROCESS_CONTROL_H
#define LATCHKEY_PROCESS_CONTROL_H

// Why this shim exists: prctl(2) is variadic in glibc's header, which Swift
// cannot call, and accept4(2) and struct ucred need _GNU_SOURCE, which the
// Glibc module is not built with. Imported only by SystemSupport
// (ProcessHardening, LocalSocket).

/// Marks the process not dumpable: no core dump, and /proc/PID/mem, environ
/// and ptrace attach closed to other non-root processes of the same user.
/// Returns 0, or -1 with errno set. The corresponding C call is
/// `prctl(PR_SET_DUMPABLE, 0)`.
int latchkey_set_not_dumpable(void);

/// accept4(fd, NULL, NULL, SOCK_CLOEXEC): a connection that no child inherits.
int latchkey_accept_cloexec(int fd);

/// The connected peer's pid, uid and gid (SO_PEERCRED). Returns 0, or -1
/// with errno set.
int latchkey_peer_credentials(int fd, int *pid, unsigned int *uid, unsigned int *gid);

#endif
