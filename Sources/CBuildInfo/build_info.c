#include "build_info.h"

#ifndef LATCHKEY_VERSION
#define LATCHKEY_VERSION "unknown"
#endif
#ifndef LATCHKEY_REVISION
#define LATCHKEY_REVISION "unknown"
#endif

const char *latchkey_build_version(void) { return LATCHKEY_VERSION; }
const char *latchkey_build_revision(void) { return LATCHKEY_REVISION; }
