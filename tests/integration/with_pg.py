"""Runs a command (a store unit test) against a new PostgreSQL: starts
pgcluster.Cluster, sets DEPLOYBOT_TEST_DATABASE_URL, runs the command and
exits with its status, stopping the cluster either way.

    with_pg.py ./test_store"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgcluster  # noqa: E402


def main(argv):
    if not pgcluster.available():
        print("with_pg: no PostgreSQL at %s (scripts/install-deps.sh installs postgresql-15)"
              % pgcluster.PG_BIN, file=sys.stderr)
        return 1
    cluster = pgcluster.Cluster()
    try:
        env = dict(os.environ, DEPLOYBOT_TEST_DATABASE_URL=cluster.url())
        return subprocess.run(argv, env=env).returncode
    finally:
        cluster.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
