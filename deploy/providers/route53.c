/* route53: the provider of dns_record, the alias A record that points the
 * stack's record_name in its zone_id at the load balancer (Route53 REST-XML
 * API 2013-04-01, global, signed for us-east-1).
 *
 * A record set has no tags, and discovery cannot read stack.json (destroy
 * has none), so the load balancer remembers the record: creating dns_record.X
 * tags the balancer "deploybot:dns:dns_record.X" = "<zone id>/<name>" just
 * before the UPSERT, and discovery reads that tag (the balancers are
 * discovered just before), then looks the record up with one
 * ListResourceRecordSets. Destroying deletes the record, then the tag.
 *
 * Ownership: a record is the stack's only when (1) a load balancer proved
 * the stack's (elbv2.c: by its tags) carries the pointer tag naming its
 * zone and name, (2) ListResourceRecordSets answers a set of exactly that
 * name and type A (the name= and type= of the request only say where the
 * list starts, so the answer's first set is compared), and (3) that set is
 * an alias to a balancer of the stack's balancer's name
 * (<name>-<digits>.<region>.elb.amazonaws.com: also an earlier one being
 * replaced). Deploybot owns only that one name in that one zone, and only
 * while it points there: before the tag and the UPSERT it checks the name,
 * and refuses to overwrite an A record that is anything else (someone's
 * record by the same name), so a typo in record_name cannot take over a
 * live name; discovery ignores a tagged name that holds such a record.
 * The plan checks the same (record_check), with the hosted zone: it must
 * exist and hold the name, or the whole plan is refused before it starts.
 *
 * Changes are waited for (GetChange until INSYNC, botocore's
 * resource_record_sets_changed waiter: 30 s apart). The zone or the load
 * balancer changing makes a new record; a new name in the same zone is a
 * rename in one batch (record_rename); evaluate_target_health changes in
 * place. */
#include "deploy/providers/elbv2.h"
#include "deploy/aws/waiter.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POINTER_TAG "deploybot:dns:" /* + logical id, on the load balancer */
#define API "/2013-04-01"

/* A DNS name as Route53 compares it: \ooo escapes decoded, lower case,
 * one trailing dot. */
static void dns_norm(const char *in, char *out, size_t n) {
    size_t o = 0;
    for (const char *s = in; *s && o + 2 < n; s++) {
        if (s[0] == '\\' && isdigit((unsigned char)s[1]) && isdigit((unsigned char)s[2]) &&
            isdigit((unsigned char)s[3])) {
            out[o++] = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            out[o++] = (char)tolower((unsigned char)*s);
        }
    }
    if (o == 0 || out[o - 1] != '.') out[o++] = '.';
    out[o] = '\0';
}

static void xml_escaped(char *out, size_t n, const char *s) {
    size_t o = 0;
    for (; *s && o + 7 < n; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;"
                                          : *s == '>'   ? "&gt;"
                                                        : NULL;
        if (e) o += (size_t)snprintf(out + o, n - o, "%s", e);
        else out[o++] = *s;
    }
    out[o] = '\0';
}

static void url_escaped(char *out, size_t n, const char *s) {
    size_t o = 0;
    for (; *s && o + 4 < n; s++) {
        if (isalnum((unsigned char)*s) || strchr("-._~", *s)) out[o++] = *s;
        else o += (size_t)snprintf(out + o, n - o, "%%%02X", (unsigned char)*s);
    }
    out[o] = '\0';
}

/* ---- the record as it is ---- */

typedef struct {
    int found;
    char alias_zone[64], alias_dns[300];
    int evaluate;
} record_state;

/* Looks up the A record `name` in `zone`. A missing zone counts as no record. */
static int record_get(const provider_ctx *c, const char *zone, const char *name, record_state *rs,
                      errinfo *err) {
    char enc[600], path[800], want[300];
    memset(rs, 0, sizeof(*rs));
    url_escaped(enc, sizeof(enc), name);
    snprintf(path, sizeof(path), API "/hostedzone/%s/rrset?name=%s&type=A&maxitems=1", zone, enc);
    xml_node *doc = NULL;
    if (aws_rest_xml(c->aws, "route53", "GET", path, NULL, &doc, err) != 0) {
        return errinfo_is_remote(err, "NoSuchHostedZone") ? 0 : -1;
    }
    /* The list starts at (name, A): the first set is ours only if it is that one. */
    const xml_node *set = doc ? xml_path(doc, "ResourceRecordSets/ResourceRecordSet") : NULL;
    char got[300];
    dns_norm(set && xml_path_text(set, "Name") ? xml_path_text(set, "Name") : "", got, sizeof(got));
    dns_norm(name, want, sizeof(want));
    const char *type = set ? xml_path_text(set, "Type") : NULL;
    if (set && type && strcmp(type, "A") == 0 && strcmp(got, want) == 0) {
        rs->found = 1;
        const char *z = xml_path_text(set, "AliasTarget/HostedZoneId");
        const char *d = xml_path_text(set, "AliasTarget/DNSName");
        const char *e = xml_path_text(set, "AliasTarget/EvaluateTargetHealth");
        snprintf(rs->alias_zone, sizeof(rs->alias_zone), "%s", z ? z : "");
        snprintf(rs->alias_dns, sizeof(rs->alias_dns), "%s", d ? d : ""); /* "": not an alias */
        rs->evaluate = e && strcmp(e, "true") == 0;
    }
    xml_free(doc);
    return 0;
}

/* dns without "dualstack." and the trailing dot, lower case. */
static void alias_host(const char *dns, char *out, size_t n) {
    char norm[300];
    dns_norm(dns, norm, sizeof(norm));
    const char *h = strncmp(norm, "dualstack.", 10) == 0 ? norm + 10 : norm;
    snprintf(out, n, "%.*s", (int)strlen(h) - 1, h);
}

/* 1 when an alias points at a load balancer named lb_name: its DNS name is
 * <lb_name>-<digits>.<region>.elb.amazonaws.com. */
static int alias_is_ours(const char *alias_dns, const char *lb_name) {
    char host[300], name[80];
    alias_host(alias_dns, host, sizeof(host));
    snprintf(name, sizeof(name), "%s", lb_name);
    for (char *p = name; *p; p++) *p = (char)tolower((unsigned char)*p);
    size_t n = strlen(name);
    if (strncmp(host, name, n) != 0 || host[n] != '-' || !isdigit((unsigned char)host[n + 1])) return 0;
    const char *p = host + n + 1;
    while (isdigit((unsigned char)*p)) p++;
    return *p == '.' && strstr(p, ".elb.amazonaws.com") != NULL;
}

/* ---- discovery ---- */

/* The discovered load balancer whose DNS name is the alias's, or NULL. */
static const resource *alias_balancer(const resource_set *out, const char *alias_dns) {
    char want[300], have[300];
    alias_host(alias_dns, want, sizeof(want));
    for (size_t i = 0; i < out->n; i++) {
        const resource *r = &out->items[i];
        if (strcmp(r->type, "load_balancer") != 0 || !resource_attr_str(r->extra, "dns_name")) continue;
        alias_host(resource_attr_str(r->extra, "dns_name"), have, sizeof(have));
        if (strcmp(want, have) == 0) return r;
    }
    return NULL;
}

static int record_discover_one(const provider_ctx *c, const char *lb_arn, const char *lb_name,
                               const char *lid, const char *pointer, resource_set *out, errinfo *err) {
    const char *slash = strchr(pointer, '/');
    if (!slash) return 0; /* not a pointer deploybot wrote */
    char zone[128], name[300];
    snprintf(zone, sizeof(zone), "%.*s", (int)(slash - pointer), pointer);
    dns_norm(slash + 1, name, sizeof(name));
    record_state rs;
    if (record_get(c, zone, name, &rs, err) != 0) return -1;
    if (!rs.found || !alias_is_ours(rs.alias_dns, lb_name)) return 0; /* gone, or someone else's now */
    const resource *lb = rs.alias_dns[0] ? alias_balancer(provider_discovered(c, "load_balancer"), rs.alias_dns)
                                         : NULL;
    /* Not our balancer: shown as the alias's DNS name, which differs from what we want. */
    json_t *a = json_pack("{s:s,s:s,s:s,s:s,s:b}", "zone", zone, "name", name, "type", "A",
                          "load_balancer", lb ? lb->physical : rs.alias_dns[0] ? rs.alias_dns
                                                                               : "(not an alias)",
                          "evaluate_target_health", rs.evaluate);
    char phys[450];
    snprintf(phys, sizeof(phys), "%s/%s", zone, name);
    resource *r = resource_set_add(out, "dns_record", lid, phys, a);
    r->extra = json_pack("{s:s,s:s,s:b,s:s}", "alias_zone", rs.alias_zone, "alias_dns", rs.alias_dns,
                         "alias_evaluate", rs.evaluate, "pointer_on", lb_arn);
    return 0;
}

static int record_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    const resource_set *lbs = provider_discovered(c, "load_balancer");
    for (size_t i = 0; i < lbs->n; i++) {
        const resource *lb = &lbs->items[i];
        const char *name = resource_attr_str(lb->attrs, "name") ?: "", *key;
        json_t *v;
        json_object_foreach(json_object_get(lb->extra, "tags"), key, v) {
            if (strncmp(key, POINTER_TAG, strlen(POINTER_TAG)) == 0 && json_is_string(v) &&
                record_discover_one(c, lb->physical, name, key + strlen(POINTER_TAG), json_string_value(v), out,
                                    err) != 0)
                return -1;
        }
    }
    return 0;
}

/* ---- changes ---- */

/* What follows a change once Route53 has it everywhere: the pointer tag
 * `key` on load balancer `lb` set to `pointer`, or removed when pointer is
 * empty (then a balancer already gone is fine). Nothing when lb is empty. */
typedef struct {
    char lb[512], key[200], pointer[450];
} pointer_step;

typedef struct {
    const provider_ctx *c;
    char path[160];
    pointer_step next;
} change_wait;

static int pointer_set(const provider_ctx *c, const pointer_step *t, errinfo *err) {
    if (!t->lb[0]) return 0;
    if (elbv2_lb_tag(c, t->lb, t->key, t->pointer[0] ? t->pointer : NULL, err) == 0) return 0;
    return !t->pointer[0] && errinfo_is_remote(err, "LoadBalancerNotFound") ? 0 : -1;
}

static int change_then(void *arg, errinfo *err) {
    change_wait *w = arg;
    return pointer_set(w->c, &w->next, err);
}

static waiter_state change_check(void *arg, errinfo *err) {
    change_wait *w = arg;
    xml_node *doc = NULL;
    if (aws_rest_xml(w->c->aws, "route53", "GET", w->path, NULL, &doc, err) != 0) return WAITER_FAILED;
    const char *status = doc ? xml_path_text(doc, "ChangeInfo/Status") : NULL;
    waiter_state st = status && strcmp(status, "INSYNC") == 0 ? WAITER_DONE : WAITER_RETRY;
    xml_free(doc);
    return st;
}

/* One change of a batch: the alias A record `name` to (alias_zone, alias_dns). */
typedef struct {
    const char *action, *name, *alias_zone, *alias_dns;
    int evaluate;
} alias_change;

static void change_xml(strbuf *b, const alias_change *ch) {
    char e_name[600], e_zone[200], e_dns[700];
    xml_escaped(e_name, sizeof(e_name), ch->name);
    xml_escaped(e_zone, sizeof(e_zone), ch->alias_zone);
    xml_escaped(e_dns, sizeof(e_dns), ch->alias_dns);
    strbuf_printf(b,
                  "<Change><Action>%s</Action><ResourceRecordSet><Name>%s</Name><Type>A</Type>"
                  "<AliasTarget><HostedZoneId>%s</HostedZoneId><DNSName>%s</DNSName>"
                  "<EvaluateTargetHealth>%s</EvaluateTargetHealth></AliasTarget></ResourceRecordSet></Change>",
                  ch->action, e_name, e_zone, e_dns, ch->evaluate ? "true" : "false");
}

/* The changes as one batch, which Route53 applies whole or not at all,
 * waited for until Route53 has it everywhere, then `next` (may be NULL).
 * Returns as a provider's update does (PROVIDER_WAITING). */
static int record_batch(const provider_ctx *c, const char *zone, const alias_change *ch, size_t n,
                        const pointer_step *next, errinfo *err) {
    strbuf body = {0};
    char path[200];
    strbuf_puts(&body,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<ChangeResourceRecordSetsRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
                "<ChangeBatch><Comment>deploybot</Comment><Changes>");
    for (size_t i = 0; i < n; i++) change_xml(&body, &ch[i]);
    strbuf_puts(&body, "</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>");
    snprintf(path, sizeof(path), API "/hostedzone/%s/rrset/", zone);
    xml_node *doc = NULL;
    int rc = aws_rest_xml(c->aws, "route53", "POST", path, body.s, &doc, err);
    strbuf_free(&body);
    if (rc != 0) return -1;
    const char *id = doc ? xml_path_text(doc, "ChangeInfo/Id") : NULL; /* "/change/C..." */
    if (!id) {
        xml_free(doc);
        return errinfo_set(err, ERR_REMOTE, "ChangeResourceRecordSets answered without a change id");
    }
    change_wait *w = calloc(1, sizeof(*w));
    if (!w) abort();
    w->c = c;
    snprintf(w->path, sizeof(w->path), API "/change/%s", strrchr(id, '/') ? strrchr(id, '/') + 1 : id);
    if (next) w->next = *next;
    xml_free(doc);
    char what[400];
    snprintf(what, sizeof(what), "DNS change for %s", ch[0].name);
    return provider_wait(c, waiter_new(what, change_check, change_then, w, free, 1800, 30000), /* botocore: 60 x 30 s */
                         err);
}

/* Fails with `code` (RecordNotOwned) when `name` in `zone` is an A record
 * that is not an alias to the load balancer named lb_name; *rs is what the
 * name holds. */
static int record_claim(const provider_ctx *c, const char *zone, const char *name, const char *lb_name,
                        err_code code, record_state *rs, errinfo *err) {
    if (record_get(c, zone, name, rs, err) != 0) return -1;
    if (!rs->found || alias_is_ours(rs->alias_dns, lb_name)) return 0;
    return aws_errinfo_set(err, code, "RecordNotOwned",
                           "%s in hosted zone %s is an A record that deploybot "
                           "did not make (it points at %s): delete it, or set another record_name",
                           name, zone,
                           rs->alias_dns[0] ? rs->alias_dns : "addresses, not an alias");
}

/* The load balancer the record `a` points at, and what its name holds,
 * which must be nothing or deploybot's. */
static int record_target(const provider_ctx *c, const json_t *a, elbv2_lb *lb, record_state *rs, errinfo *err) {
    if (elbv2_lb_describe(c, resource_attr_str(a, "load_balancer"), lb, err) != 0) return -1;
    return record_claim(c, resource_attr_str(a, "zone"), resource_attr_str(a, "name"), lb->name, ERR_CONFLICT, rs,
                        err);
}

/* UPSERT of the alias to the load balancer, unless the name is taken by a
 * record that is not deploybot's; sets the pointer tag `key` (when not
 * NULL) on the load balancer once the name is known to be free or ours. */
static int record_point(const provider_ctx *c, const json_t *a, const char *key, const char *pointer,
                        errinfo *err) {
    const char *zone = resource_attr_str(a, "zone"), *name = resource_attr_str(a, "name");
    elbv2_lb lb;
    record_state rs;
    if (record_target(c, a, &lb, &rs, err) != 0) return -1;
    if (key && elbv2_lb_tag(c, resource_attr_str(a, "load_balancer"), key, pointer, err) != 0) return -1;
    alias_change ch = {"UPSERT", name, lb.zone_id, lb.dns_name, json_is_true(json_object_get(a, "evaluate_target_health"))};
    return record_batch(c, zone, &ch, 1, NULL, err);
}

static void pointer_key(const resource *r, char *out, size_t n) {
    snprintf(out, n, POINTER_TAG "%s", r->id);
}

static int record_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    char key[200], pointer[450];
    pointer_key(r, key, sizeof(key));
    snprintf(pointer, sizeof(pointer), "%s/%s", resource_attr_str(a, "zone"), resource_attr_str(a, "name"));
    /* The pointer before the record: a crash in between leaves nothing
     * deploybot cannot find again. */
    r->physical = strdup(pointer); /* the record's, once it is pointed at */
    int rc = record_point(c, a, key, pointer, err);
    if (rc < 0) {
        free(r->physical);
        r->physical = NULL;
    }
    return rc;
}

/* A new name in the same zone: the new record and the old one's deletion in
 * one batch, which Route53 applies at once, so that there is no moment with
 * neither name (nor with the old one gone and the new one refused). The
 * pointer follows the batch: a crash in between leaves the new record,
 * which is deploybot's and which the next apply takes over. */
static int record_rename(const provider_ctx *c, const resource *r, const json_t *old, const json_t *a,
                         errinfo *err) {
    const char *zone = resource_attr_str(a, "zone"), *name = resource_attr_str(a, "name");
    const json_t *x = r->extra;
    elbv2_lb lb;
    record_state rs;
    if (record_target(c, a, &lb, &rs, err) != 0) return -1;
    alias_change ch[2] = {
        {rs.found ? "UPSERT" : "CREATE", name, lb.zone_id, lb.dns_name,
         json_is_true(json_object_get(a, "evaluate_target_health"))},
        {"DELETE", resource_attr_str(old, "name"), resource_attr_str(x, "alias_zone"),
         resource_attr_str(x, "alias_dns"), json_is_true(json_object_get(x, "alias_evaluate"))},
    };
    pointer_step next;
    snprintf(next.lb, sizeof(next.lb), "%s", resource_attr_str(a, "load_balancer"));
    pointer_key(r, next.key, sizeof(next.key));
    snprintf(next.pointer, sizeof(next.pointer), "%s/%s", zone, name);
    return record_batch(c, zone, ch, 2, &next, err);
}

static int record_update(const provider_ctx *c, const resource *r, const json_t *old, const json_t *a,
                         errinfo *err) {
    if (strcmp(resource_attr_str(old, "name"), resource_attr_str(a, "name")) != 0)
        return record_rename(c, r, old, a, err);
    return record_point(c, a, NULL, NULL, err);
}

static int record_destroy(const provider_ctx *c, const resource *r, const json_t *old, errinfo *err) {
    const json_t *x = r->extra;
    alias_change ch = {"DELETE", resource_attr_str(old, "name"), resource_attr_str(x, "alias_zone"),
                       resource_attr_str(x, "alias_dns"), json_is_true(json_object_get(x, "alias_evaluate"))};
    pointer_step next = {.lb = ""};
    snprintf(next.lb, sizeof(next.lb), "%s", resource_attr_str(x, "pointer_on") ?: "");
    pointer_key(r, next.key, sizeof(next.key));
    if (ch.alias_dns && *ch.alias_dns) {
        int rc = record_batch(c, resource_attr_str(old, "zone"), &ch, 1, &next, err);
        if (rc >= 0 || (!errinfo_is_remote(err, "InvalidChangeBatch") && !errinfo_is_remote(err, "NoSuchHostedZone")))
            return rc; /* else: already gone */
    }
    return pointer_set(c, &next, err);
}

/* ---- at plan time ---- */

/* The name of hosted zone `zone` ("example.com."). */
static int zone_name(const provider_ctx *c, const char *zone, char *out, size_t n, errinfo *err) {
    char path[200];
    snprintf(path, sizeof(path), API "/hostedzone/%s", zone);
    xml_node *doc = NULL;
    if (aws_rest_xml(c->aws, "route53", "GET", path, NULL, &doc, err) != 0) return -1;
    const char *name = doc ? xml_path_text(doc, "HostedZone/Name") : NULL;
    if (name) dns_norm(name, out, n);
    xml_free(doc);
    return name ? 0 : errinfo_set(err, ERR_REMOTE, "GetHostedZone %s answered without the zone's name", zone);
}

/* 1 when the DNS name `name` is the zone's own name or one under it. */
static int in_zone(const char *name, const char *zone) {
    char a[300], z[300];
    dns_norm(name, a, sizeof(a));
    dns_norm(zone, z, sizeof(z));
    size_t la = strlen(a), lz = strlen(z);
    return strcmp(a, z) == 0 || (la > lz && strcmp(a + la - lz, z) == 0 && a[la - lz - 1] == '.');
}

/* The hosted zone exists, the name lies in it, and a name the record does
 * not hold yet is free or already deploybot's: AWS would refuse the batch
 * otherwise. */
static int record_check(const provider_ctx *c, const resource *d, const resource *actual, errinfo *err) {
    const char *zone = resource_attr_str(d->attrs, "zone"), *name = resource_attr_str(d->attrs, "name");
    char zname[300];
    if (zone_name(c, zone, zname, sizeof(zname), err) != 0)
        return provider_refusal(err, "NoSuchHostedZone",
                                "hosted zone %s (zone_id) does not exist, so record_name "
                                "%s cannot be made in it",
                                zone, name);
    if (!in_zone(name, zname))
        return errinfo_set(err, ERR_INVALID,
                           "record_name %s is not in hosted zone %s (zone_id), which is %s: "
                           "a zone only holds its own name and the names under it",
                           name, zone, zname);
    const char *lb_name = resource_attr_str(d->extra, "load_balancer_name");
    if (!lb_name || (actual && json_equal(json_object_get(actual->attrs, "zone"), json_object_get(d->attrs, "zone")) &&
                     json_equal(json_object_get(actual->attrs, "name"), json_object_get(d->attrs, "name"))))
        return 0;
    record_state rs;
    return record_claim(c, zone, name, lb_name, ERR_INVALID, &rs, err);
}

/* A new name in the same zone is a rename in place (record_rename). */
static const char *const record_force[] = {"zone", "type", "load_balancer", NULL};
const provider provider_dns_record = {
    .type = "dns_record",
    .service = "route53",
    .force_new = record_force,
    .discover = record_discover,
    .create = record_create,
    .update = record_update,
    .destroy = record_destroy,
    .check = record_check,
};
