#ifndef LATCHKEY_PROCESS_CONTROL_H
#define LATCHKEY_PROCESS_CONTROL_H

// Why this shim exists: prctl(2) is variadic in glibc's header, which Swift
// cannot call, and accept4(2), struct ucred and sem_clockwait(3) need _GNU_SOURCE, which the
// Glibc module is not built with. Imported only by SystemSupport
// (ProcessHardening, LocalSocket, BoundedCall).

/// Marks the process not dumpable: no core dump, and /proc/PID/mem, environ
/// and ptrace attach closed to other non-root processes of the same user.
/// Returns 0, or -1 with errno set. The corresponding C call is
/// `prctl(PR_SET_DUMPABLE, 0)`.
int latchkey_set_not_dumpable(void);

/// accept4(fd, NULL, NULL, SOCK_CLOEXEC): a connection that no child inherits.
int latchkey_accept_cloexec(int fd);

/// Waits for `semaphore` (a sem_t) until `seconds` from now on the monotonic
/// clock, so a wall-clock change cannot stretch or cut the wait; retries
/// after EINTR. Returns 0 when it was posted, -1 (errno ETIMEDOUT) when not.
/// The corresponding C call is `sem_clockwait(…, CLOCK_MONOTONIC, …)`.
int latchkey_semaphore_wait(void *semaphore, long seconds);

/// The same, for a wait of `milliseconds`.
int latchkey_semaphore_wait_milliseconds(void *semaphore, long milliseconds);

/// The connected peer's pid, uid and gid (SO_PEERCRED). Returns 0, or -1
/// with errno set.
int latchkey_peer_credentials(int fd, int *pid, unsigned int *uid, unsigned int *gid);

#include <sys/types.h>

// Why these exist: a signal handler must be async-signal-safe, which Swift
// code cannot promise; these handlers are a few lines of C.

/// While a foreground command runs (`exec --server`): SIGTERM and SIGHUP
/// sent to latchkey are sent on to `child` (nothing while it is 0), SIGINT
/// and SIGQUIT are ignored (the terminal sends them to the command itself).
/// Call with 0 before starting the command, then with its pid. Returns 0,
/// or -1 with errno set. The corresponding C call is `sigaction`.
int latchkey_forward_signals(pid_t child);

/// Until the process ends (`serve`): SIGINT, SIGTERM and SIGHUP each write
/// their number, one byte, to `fd` (a pipe's write end) instead of ending
/// the process. Returns 0, or -1 with errno set.
int latchkey_signals_to_pipe(int fd);

#endif
