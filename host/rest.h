/* rest: what the hosts' REST clients share — the client itself (every
 * host_client is one), one JSON call over util/http.c with the host's
 * headers, its answer sorted into the error contract of host/host.h,
 * comment bodies, and text cut to a limit. */
#ifndef DEPLOYBOT_HOST_REST_H
#define DEPLOYBOT_HOST_REST_H

#include <jansson.h>
#include <stddef.h>
#include "host/host.h"
#include "util/errinfo.h"
#include "util/http.h"

/* A client of api_url (a trailing slash is dropped) that names itself
 * `name` ("GitHub") in messages and sends `headers` (NULL-terminated, at
 * most REST_HEADERS_MAX, borrowed) with every call, and auth_prefix +
 * token as the last one when token is set; that one is cleansed when the
 * client is freed (host_client_free). */
#define REST_HEADERS_MAX 4
host_client *rest_client_new(const char *name, const char *api_url, const char *const *headers,
                             const char *auth_prefix, const char *token);

/* method api_url+path with body as JSON (NULL: none): 0 on a 2xx answer,
 * -1 otherwise (ERR_UNAVAILABLE for no answer, a 5xx or 429, ERR_REMOTE for
 * a refusal; err->status is the host's). The answer goes to resp (free it
 * with http_response_free) or is dropped. */
int rest_call(host_client *c, const char *method, const char *path, json_t *body,
              http_response *resp, errinfo *err);

/* GET api_url+path, answered with a JSON object: the object (json_decref
 * it), or NULL as rest_call fails (an answer that is no object is
 * ERR_REMOTE). resp as for rest_call. */
json_t *rest_get_object(host_client *c, const char *path, http_response *resp, errinfo *err);

/* 1 when `scope` is one of the comma- or space-separated `list`. */
int rest_scope_listed(const char *list, const char *scope);

/* POST or PATCH of {"body": text}; *id (when not NULL) gets the answer's
 * "id", which must be there. */
int rest_comment(host_client *c, const char *method, const char *path, const char *text,
                 long long *id, http_response *resp, errinfo *err);

/* s cut to at most max characters (UTF-8 aware), ending with "..." when
 * cut, as a JSON string. */
json_t *rest_clipped(const char *s, size_t max);

#endif
