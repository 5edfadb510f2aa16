#include "process_control.h"

#include <sys/prctl.h>

int latchkey_set_not_dumpable(void) {
    return prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L);
}
