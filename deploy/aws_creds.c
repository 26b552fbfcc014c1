/* aws_creds: where AWS credentials come from (see the chain in aws.h).
 *
 * Each source answers one of three things: found, not there (try the next
 * source), or there but broken (stop: using another identity than the one
 * the operator configured would be worse than failing). The "not there"
 * answers are collected so that a machine with no credentials at all gets
 * one message naming every place that was looked at. */
#include "deploy/aws.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#define IMDS_DEFAULT "http://169.254.169.254"
#define IMDS_TOKEN_TTL "21600"        /* seconds; the maximum IMDS allows */
#define IMDS_MAX_BODY (64u << 10)

/* ---- small helpers ---- */

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Zeroes a secret before its memory goes back to the allocator. */
static void wipe(char *s, size_t n)
{
    volatile char *v = s;
    while (n--) *v++ = 0;
}

static void wipe_free(char *s)
{
    if (!s) return;
    wipe(s, strlen(s));
    free(s);
}

void aws_creds_free(aws_creds *c)
{
    if (!c) return;
    free(c->access_key);
    wipe_free(c->secret_key);
    wipe_free(c->session_token);
    *c = (aws_creds){0};
}

static void fill(aws_creds *c, const char *id, const char *secret, const char *token)
{
    c->access_key = xstrdup(id);
    c->secret_key = xstrdup(secret);
    c->session_token = token && *token ? xstrdup(token) : NULL;
}

static void origin_set(aws_creds_origin *o, time_t expiration, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void origin_set(aws_creds_origin *o, time_t expiration, const char *fmt, ...)
{
    va_list ap;
    if (!o) return;
    o->expiration = expiration;
    va_start(ap, fmt);
    vsnprintf(o->source, sizeof o->source, fmt, ap);
    va_end(ap);
}

/* ---- 1. environment ---- */

/* 0 found, 1 AWS_ACCESS_KEY_ID not set, -1 only half set. */
static int env_creds(aws_creds *c, char *err, size_t errlen)
{
    const char *id = env_nonempty("AWS_ACCESS_KEY_ID");
    const char *secret = env_nonempty("AWS_SECRET_ACCESS_KEY");
    if (!id && !secret) {
        snprintf(err, errlen, "AWS_ACCESS_KEY_ID not set");
        return 1;
    }
    if (!id || !secret) {
        snprintf(err, errlen, "%s is set but %s is not: set both (and AWS_SESSION_TOKEN "
                 "for temporary credentials)", id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                 id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
        return -1;
    }
    fill(c, id, secret, env_nonempty("AWS_SESSION_TOKEN"));
    return 0;
}

int aws_creds_from_env(aws_creds *c, char *err, size_t errlen)
{
    *c = (aws_creds){0};
    if (env_creds(c, err, errlen) == 0) return 0;
    snprintf(err, errlen, "AWS credentials not found: set AWS_ACCESS_KEY_ID "
             "and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for "
             "temporary credentials)");
    return -1;
}
