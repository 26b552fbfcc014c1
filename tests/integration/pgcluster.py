"""A real PostgreSQL for the tests: Debian's postgresql-15, started from a
temporary directory with initdb/pg_ctl, listening only on a Unix socket.

initdb refuses to run as root, and the tests run as root in CI, so the
cluster belongs to an unprivileged user (postgres when the package made it,
else nobody) and every server command runs through runuser."""
import os
import pwd
import shutil
import subprocess
import tempfile
import time

PG_BIN = os.environ.get("DEPLOYBOT_PG_BIN", "/usr/lib/postgresql/15/bin")


def available():
    return os.path.exists(os.path.join(PG_BIN, "initdb"))


def _owner():
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("no unprivileged user to own the PostgreSQL cluster")


class Cluster:
    """One PostgreSQL server with database "deploybot". url() is what a
    deploybot config's database_url takes."""

    def __init__(self, port=5432):
        self.owner = _owner()
        self.root = tempfile.mkdtemp(prefix="deploybot-pg-")
        os.chmod(self.root, 0o755)
        self.data = os.path.join(self.root, "data")
        self.sock = os.path.join(self.root, "sock")
        self.log = os.path.join(self.root, "server.log")
        self.port = port
        for d in (self.sock,):
            os.mkdir(d)
        os.chown(self.root, self.owner.pw_uid, self.owner.pw_gid)
        os.chown(self.sock, self.owner.pw_uid, self.owner.pw_gid)
        self._as_owner(os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", "deploybot",
                       "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()
        self._as_owner(os.path.join(PG_BIN, "createdb"), "-h", self.sock, "-p", str(self.port),
                       "-U", "deploybot", "deploybot")

    def _as_owner(self, *argv, check=True):
        return subprocess.run(["runuser", "-u", self.owner.pw_name, "--"] + list(argv),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              check=check, cwd=self.root)

    def start(self):
        opts = "-c listen_addresses='' -k %s -p %d -c fsync=on" % (self.sock, self.port)
        self._as_owner(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", self.log,
                       "-o", opts, "-w", "-t", "60", "start")

    def stop(self, mode="fast"):
        self._as_owner(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", mode, "-w",
                       "stop", check=False)

    def url(self):
        return "postgresql:///deploybot?host=%s&port=%d&user=deploybot" % (self.sock, self.port)

    def psql(self, sql):
        out = self._as_owner(os.path.join(PG_BIN, "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                             "-h", self.sock, "-p", str(self.port), "-U", "deploybot", "-d", "deploybot",
                             "-c", sql)
        return out.stdout.strip()

    def close(self):
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
