"""The local demo: fake AWS + a fake git host on loopback, a real config
repo, the real deploybot; a push to main is planned and applied for dev, and
you watch the bot's log, the commit statuses and the resources appear.

  demo.py [--host github|gitea|gitlab]   the host the bot is configured for (its
                                         fake gets the statuses; default github)"""
import argparse
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
import harness  # noqa: E402

DEV = "environments/dev/stack.json"
# Each host's push delivery (harness.py builds them from real payloads).
PUSH = {"github": harness.push_payload, "gitea": harness.gitea_push_payload,
        "gitlab": harness.gitlab_push_payload}


def follow(path, stop):
    """Prints the bot's log as it is written."""
    with open(path, "rb") as f:
        while not stop.is_set():
            line = f.readline()
            if line:
                sys.stdout.write("  bot | " + line.decode("utf-8", "replace"))
                sys.stdout.flush()
            else:
                time.sleep(0.05)


def show_statuses(s, sha):
    for st in reversed(s.statuses(sha)):
        print("  status %-14s %-8s %s" % (st["context"], st["state"], st["description"]))


def push(s, before, after, title):
    print("\n== %s: push %s..%s to main (webhook signed, delivered)" % (title, before[:7], after[:7]))
    event = "Push Hook" if s.host_type == "gitlab" else "push"
    code, body = s.deliver(event, PUSH[s.host_type](before, after))
    print("  webhook answered %d %s" % (code, body.decode()))
    s.wait_status(after, "deploybot/dev")
    time.sleep(0.3)
    show_statuses(s, after)


def host_url(s):
    return getattr(s, s.host_type + "_url")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", choices=sorted(PUSH), default="github")
    args = parser.parse_args()
    work = os.path.abspath(os.environ.get("DEMO_DIR", "demo-data"))
    shutil.rmtree(work, ignore_errors=True)
    s = harness.Stack(work, host=args.host)
    stop = threading.Event()
    threading.Thread(target=follow, args=(s.bot.log_path, stop), daemon=True).start()
    try:
        print("deploybot demo: bot %s, fake AWS %s, fake %s %s (webhook %s/webhooks/%s), config repo %s"
              % (s.bot_url, s.aws_url, args.host, host_url(s), s.bot_url, args.host, s.repo.path))
        # The token rides in the fragment, which browsers never send: the
        # login page posts it, so no server log ever holds it.
        print("Open the run pages (read-only) with this login link:\n  %s/login#token=%s"
              % (s.bot_url, harness.READ_TOKEN))
        base = s.repo.head()
        c1 = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"),
                              "dev: allow the second office")
        push(s, base, c1, "1. first deploy of dev")
        c2 = s.repo.edit_json(DEV, lambda d: d.update(office_cidrs=["192.0.2.0/24"]),
                              "dev: move to the new office")
        push(s, c1, c2, "2. change the office CIDR (update in place)")
        harness.git(s.repo.path, "revert", "--no-edit", "HEAD")
        push(s, c2, s.repo.head(), "3. git revert: roll back")
        owned = s.owned_ids("dev")
        print("\n== %d resources in the fake AWS tagged deploybot:stack=dev" % len(owned))
        for i in range(0, len(owned), 3):
            print("  " + "".join("%-30s" % x for x in owned[i:i + 3]))
        print("\n== deploybot history dev")
        out = subprocess.run([harness.BIN, "history", "dev", "--config", s.config_path()],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=s.env())
        print("  " + out.stdout.decode().rstrip().replace("\n", "\n  "))
        print("\nEach status links to the run's page, e.g. %s/runs/1 (live while it runs)." % s.bot_url)
        print("Log in first: %s/login#token=%s" % (s.bot_url, harness.READ_TOKEN))
        print("Operate over the API (role operate), e.g. lock dev:\n  curl -H 'Authorization: Bearer %s' "
              "-d '{\"reason\": \"demo\"}' %s/api/environments/dev/lock" % (harness.OPERATE_TOKEN, s.bot_url))
        print("\nDemo complete. Logs and data are in %s" % work)
        if sys.stdin.isatty():
            input("The bot keeps running until you press Enter. ")
    finally:
        time.sleep(0.2)
        stop.set()
        s.close()


if __name__ == "__main__":
    main()
