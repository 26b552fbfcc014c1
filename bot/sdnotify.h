/* sdnotify: systemd's service notification protocol (sd_notify(3)), spoken
 * directly so that deploybot needs no libsystemd.
 *
 * systemd names a datagram socket in NOTIFY_SOCKET (a path, or "@name" in
 * the abstract namespace); "READY=1" there tells it a Type=notify service
 * has started. With WatchdogSec= it also sets WATCHDOG_USEC (and
 * WATCHDOG_PID) and restarts the service when "WATCHDOG=1" does not come
 * again within that time. Outside systemd none of these are set and every
 * function here does nothing. */
#ifndef DEPLOYBOT_BOT_SDNOTIFY_H
#define DEPLOYBOT_BOT_SDNOTIFY_H

#include "util/errinfo.h"

/* Sends state ("READY=1", "STOPPING=1", "STATUS=...", lines joined by \n)
 * to NOTIFY_SOCKET. Unset: nothing to do, 0. */
int sdnotify_send(const char *state, errinfo *err);

/* The watchdog interval systemd asks of this process, in microseconds; 0
 * when it asks none (unset, malformed, or WATCHDOG_PID names another
 * process). */
long long sdnotify_watchdog_usec(void);

typedef struct sdnotify_watchdog sdnotify_watchdog;

/* Starts a thread sending "WATCHDOG=1" now and then at half of
 * sdnotify_watchdog_usec(). NULL without an error when no watchdog is
 * asked for (err's code is then ERR_NONE). */
sdnotify_watchdog *sdnotify_watchdog_start(errinfo *err);
/* Stops and joins the thread; NULL is fine. */
void sdnotify_watchdog_stop(sdnotify_watchdog *w);

#endif
