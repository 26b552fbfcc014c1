/* dbwait: see dbwait.h. */
#include "store/store.h"

#include <time.h>

#define STEP_US 250

static int on_busy(void *arg, int tries) {
    long timeout_ms = (long)(size_t)arg;
    if ((long)tries * STEP_US / 1000 >= timeout_ms) return 0;
    struct timespec ts = {0, STEP_US * 1000L};
    nanosleep(&ts, NULL);
    return 1;
}

void dbwait_install(sqlite3 *db, int timeout_ms) {
    sqlite3_busy_handler(db, on_busy, (void *)(size_t)timeout_ms);
}
