/* event: see event.h. */
#include "notify/event.h"

#include <string.h>

static const char *const NAMES[NOTIFY_EVENT_COUNT] = {
    [NOTIFY_PLAN] = "plan",
    [NOTIFY_APPLY_STARTED] = "apply_started",
    [NOTIFY_APPLY_SUCCEEDED] = "apply_succeeded",
    [NOTIFY_APPLY_FAILED] = "apply_failed",
    [NOTIFY_DRIFT] = "drift",
};

const char *notify_event_name(notify_event e) {
    return (unsigned)e < NOTIFY_EVENT_COUNT ? NAMES[e] : "unknown";
}

int notify_event_parse(const char *name) {
    for (int i = 0; name && i < NOTIFY_EVENT_COUNT; i++)
        if (strcmp(NAMES[i], name) == 0) return i;
    return -1;
}
