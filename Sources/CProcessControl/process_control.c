#define _GNU_SOURCE
#include "process_control.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

int latchkey_set_not_dumpable(void) {
    return prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L);
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
