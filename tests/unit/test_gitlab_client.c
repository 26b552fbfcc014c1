/* Tests of notify/gitlab against tests/fakes/fake_gitlab.py, which enforces
 * GitLab's auth, URL shapes, state machine and length limits: what the
 * client sent is read back through the API's own GET endpoints. */
#include "host/gitlab_api.h"

#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define PROJECT "acme/infra-config"
#define SHA "c4c79227ed610f1151f05bbc5be33b4f340d39c8"

extern char **environ;
static char api[128];

/* Starts the fake and waits for its port file. */
static pid_t fake_start(const char *dir) {
    char script[4096], port_file[4200];
    const char *src = getenv("DEPLOYBOT_SOURCE_DIR");
    pid_t pid;
    int port = 0;

    snprintf(script, sizeof(script), "%s/tests/fakes/fake_gitlab.py", src ? src : ".");
    snprintf(port_file, sizeof(port_file), "%s/port", dir);
    char *argv[] = {"/usr/bin/python3", script, "--port", "0", "--port-file", port_file,
                    "--token", "glpat-test", "--project", PROJECT "=42", NULL};
    if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0) exit(2);
    for (int i = 0; i < 600 && port == 0; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (fscanf(f, "%d", &port) != 1) port = 0;
            fclose(f);
        }
        if (!port) usleep(50000);
    }
    if (!port) exit(2);
    snprintf(api, sizeof(api), "http://127.0.0.1:%d/api/v4", port);
    unlink(port_file);
    return pid;
}

/* GET of an API path, answered JSON. */
static json_t *get(const char *path) {
    char url[512];
    const char *headers[] = {"PRIVATE-TOKEN: glpat-test", NULL};
    http_response r;
    errinfo err;
    json_t *j = NULL;

    snprintf(url, sizeof(url), "%s%s", api, path);
    if (http_request("GET", url, headers, NULL, &r, &err) == 0 && r.status == 200) j = json_loads(r.body, 0, NULL);
    http_response_free(&r);
    return j;
}

static void test_statuses(host_client *g) {
    char desc[400], url[300];
    errinfo err;
    http_response r;

    memset(desc, 'd', sizeof(desc) - 1), desc[sizeof(desc) - 1] = '\0';
    memcpy(desc, "Plan: 1 to add", 14);
    snprintf(url, sizeof(url), "http://bot.example/runs/%0260d", 1);
    CHECK(gitlab_status_post(g, PROJECT, SHA, "pending", "deploybot/prod", desc, url, NULL, &err) == 0);
    CHECK(gitlab_status_post(g, PROJECT, SHA, "running", "deploybot/prod", "planning", "http://bot.example/runs/1", NULL, &err) == 0);
    CHECK(gitlab_status_post(g, PROJECT, SHA, "success", "deploybot/prod", "applied", NULL, NULL, &err) == 0);
    json_t *list = get("/projects/42/repository/commits/" SHA "/statuses?all=true&sort=asc");
    CHECK(json_array_size(list) >= 1);
    json_t *last = json_array_get(list, json_array_size(list) - 1);
    CHECK_STR(json_string_value(json_object_get(last, "status")), "success");
    CHECK_STR(json_string_value(json_object_get(last, "name")), "deploybot/prod");
    CHECK_STR(json_string_value(json_object_get(last, "description")), "applied");
    CHECK_STR(json_string_value(json_object_get(last, "target_url")), "http://bot.example/runs/1");
    json_decref(list);
    /* the state machine: a pending status cannot be made pending again */
    CHECK(gitlab_status_post(g, PROJECT, SHA, "pending", "deploybot/dev", "queued", NULL, NULL, &err) == 0);
    CHECK(gitlab_status_post(g, PROJECT, SHA, "pending", "deploybot/dev", "again", NULL, &r, &err) == -1);
    CHECK(r.status == 400 && err.code == ERR_REMOTE);
    http_response_free(&r);
    CHECK(gitlab_status_post(g, PROJECT, SHA, "error", "deploybot/prod", "", NULL, NULL, &err) == -1);
    CHECK(err.code == ERR_INVALID);
    /* a cut description keeps its start */
    CHECK(gitlab_status_post(g, PROJECT, SHA, "failed", "deploybot/stage", desc, NULL, NULL, &err) == 0);
    list = get("/projects/42/repository/commits/" SHA "/statuses?name=deploybot/stage");
    const char *d = json_string_value(json_object_get(json_array_get(list, 0), "description"));
    CHECK(d && strlen(d) == GITLAB_STATUS_FIELD_MAX && strncmp(d, "Plan: 1 to add", 14) == 0);
    CHECK(d && strcmp(d + GITLAB_STATUS_FIELD_MAX - 3, "...") == 0);
    json_decref(list);
}

static void test_notes(host_client *g) {
    long long id = 0, id2 = 0;
    errinfo err;
    http_response r;

    CHECK(gitlab_mr_note_create(g, PROJECT, 3, "plan v1", &id, NULL, &err) == 0 && id > 0);
    CHECK(gitlab_mr_note_update(g, PROJECT, 3, id, "plan v2", NULL, &err) == 0);
    json_t *notes = get("/projects/acme%2Finfra-config/merge_requests/3/notes");
    CHECK(json_array_size(notes) == 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(notes, 0), "body")), "plan v2");
    json_decref(notes);
    CHECK(gitlab_mr_note_update(g, PROJECT, 3, id + 1000, "x", &r, &err) == -1 && r.status == 404);
    http_response_free(&r);
    char *big = malloc(GITLAB_NOTE_MAX + 2);
    memset(big, 'x', GITLAB_NOTE_MAX + 1), big[GITLAB_NOTE_MAX + 1] = '\0';
    CHECK(gitlab_mr_note_create(g, PROJECT, 3, big, &id2, NULL, &err) == -1 && err.code == ERR_LIMIT);
    big[GITLAB_NOTE_MAX] = '\0';
    CHECK(gitlab_mr_note_create(g, PROJECT, 3, big, &id2, NULL, &err) == 0 && id2 > id);
    free(big);
    id = -1;
    CHECK(gitlab_commit_comment_create(g, PROJECT, SHA, "applied prod", &id, NULL, &err) == 0 && id == 0);
    json_t *comments = get("/projects/42/repository/commits/" SHA "/comments");
    CHECK_STR(json_string_value(json_object_get(json_array_get(comments, 0), "note")), "applied prod");
    json_decref(comments);
}

static void test_auth(void) {
    host_client *bad = gitlab_client_new(&(host_config){.api_url = api, .token = "glpat-wrong"});
    errinfo err;
    http_response r;

    CHECK(gitlab_commit_comment_create(bad, PROJECT, SHA, "x", NULL, &r, &err) == -1 && r.status == 401);
    CHECK(strstr(err.msg, "glpat-wrong") == NULL);
    http_response_free(&r);
    host_client_free(bad);
}

int main(void) {
    char dir[] = "/tmp/test_gitlab_client.XXXXXX";
    if (!mkdtemp(dir)) return 2;
    pid_t pid = fake_start(dir);
    host_client *g = gitlab_client_new(&(host_config){.api_url = api, .token = "glpat-test"});
    test_statuses(g);
    test_notes(g);
    test_auth();
    host_client_free(g);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    rmdir(dir);
    return CHECK_DONE();
}
