/* dbwait: how a connection waits for SQLite's write lock.
 *
 * sqlite3_busy_timeout sleeps in growing steps of up to 100 ms; on the HTTP
 * thread that stalls every connection in flight behind one busy worker. This
 * handler polls every 250 microseconds instead, up to timeout_ms. */
#ifndef DEPLOYBOT_STORE_STORE_H
#define DEPLOYBOT_STORE_STORE_H

#include <sqlite3.h>

void dbwait_install(sqlite3 *db, int timeout_ms);

#endif
