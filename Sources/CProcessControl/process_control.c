#define _GNU_SOURCE
#include "process_control.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <semaphore.h>
#include <sys/prctl.h>
#include <time.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

int latchkey_set_not_dumpable(void) {
    return prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L);
}

static int wait_until(sem_t *semaphore, const struct timespec *deadline) {
    int result;
    do {
        result = sem_clockwait(semaphore, CLOCK_MONOTONIC, deadline);
    } while (result != 0 && errno == EINTR);
    return result;
}

int latchkey_semaphore_wait(void *semaphore, long seconds) {
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += seconds;
    return wait_until((sem_t *)semaphore, &deadline);
}

int latchkey_semaphore_wait_milliseconds(void *semaphore, long milliseconds) {
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += milliseconds / 1000;
    deadline.tv_nsec += (milliseconds % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000L;
    }
    return wait_until((sem_t *)semaphore, &deadline);
}

int latchkey_accept_cloexec(int fd) {
    return accept4(fd, NULL, NULL, SOCK_CLOEXEC);
}

int latchkey_peer_credentials(int fd, int *pid, unsigned int *uid, unsigned int *gid) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *pid = credentials.pid;
    *uid = credentials.uid;
    *gid = credentials.gid;
    return 0;
}

static volatile sig_atomic_t forward_to = 0;
static volatile sig_atomic_t signal_pipe = -1;

static void forward(int signal) {
    int saved = errno;
    pid_t child = (pid_t)forward_to;
    if (child > 0) kill(child, signal);
    errno = saved;
}

static void to_pipe(int signal) {
    int saved = errno;
    unsigned char byte = (unsigned char)signal;
    if (signal_pipe >= 0) (void)!write(signal_pipe, &byte, 1);
    errno = saved;
}

static int install(int signal, void (*handler)(int)) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    return sigaction(signal, &action, NULL);
}

int latchkey_forward_signals(pid_t child) {
    forward_to = child;
    if (install(SIGTERM, forward) != 0 || install(SIGHUP, forward) != 0) return -1;
    if (install(SIGINT, SIG_IGN) != 0 || install(SIGQUIT, SIG_IGN) != 0) return -1;
    return 0;
}

int latchkey_signals_to_pipe(int fd) {
    signal_pipe = fd;
    if (install(SIGINT, to_pipe) != 0 || install(SIGTERM, to_pipe) != 0 || install(SIGHUP, to_pipe) != 0) return -1;
    return 0;
}
