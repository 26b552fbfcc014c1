"""A throwaway certificate authority and a server certificate, made with the
`openssl` command line (the stdlib cannot create certificates).

The CA lives in a directory (ca.pem, ca.key) that several fakes may share, so a
client trusting one file trusts all of them: a redirect from one instance to
another then fails on credentials, never on TLS. The server certificate names
127.0.0.1 (IP SAN) and localhost (DNS SAN): a test can point a client at the
"other host" localhost while both listen on the loopback address.
"""

import fcntl
import os
import shutil
import ssl
import subprocess
import tempfile

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
DAYS = "3"          # long enough for any test run, short enough to be obviously throwaway


def _run(args, cwd):
    proc = subprocess.run([OPENSSL] + args, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {proc.stderr.strip()}")


def ensure_ca(cert_dir):
    """ca.pem and ca.key in cert_dir, created once (under a lock, so two fakes
    started together on one directory end up with the same CA)."""
    cert_dir = os.path.abspath(cert_dir)
    os.makedirs(cert_dir, exist_ok=True)
    ca_pem = os.path.join(cert_dir, "ca.pem")
    ca_key = os.path.join(cert_dir, "ca.key")
    with open(os.path.join(cert_dir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (os.path.exists(ca_pem) and os.path.exists(ca_key)):
            work = tempfile.mkdtemp(dir=cert_dir, prefix=".ca-")
            try:
                _run(["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", DAYS,
                      "-subj", "/O=deploybot tests/CN=deploybot fake githttp CA",
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign"], cwd=work)
                os.chmod(os.path.join(work, "ca.key"), 0o600)
                os.replace(os.path.join(work, "ca.key"), ca_key)
                os.replace(os.path.join(work, "ca.pem"), ca_pem)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    return ca_pem, ca_key


def make_server_cert(ca_pem, ca_key, work_dir):
    """A leaf certificate for 127.0.0.1 and localhost signed by the CA, in
    work_dir (private to this process). Returns (cert_path, key_path)."""
    ext = os.path.join(work_dir, "server.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _run(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
          "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"], cwd=work_dir)
    # A random serial per certificate: two instances sharing a CA must not
    # issue the same serial (clients may cache by issuer + serial).
    _run(["x509", "-req", "-in", "server.csr", "-CA", ca_pem, "-CAkey", ca_key,
          "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", DAYS,
          "-extfile", ext, "-out", "server.pem"], cwd=work_dir)
    return os.path.join(work_dir, "server.pem"), os.path.join(work_dir, "server.key")


def server_context(cert_dir=None):
    """(ssl.SSLContext, ca_pem_path, cleanup_dirs). Without cert_dir the CA is
    made in a fresh temporary directory."""
    cleanup = []
    if cert_dir is None:
        cert_dir = tempfile.mkdtemp(prefix="fake-githttp-ca-")
        cleanup.append(cert_dir)
    try:
        ca_pem, ca_key = ensure_ca(cert_dir)
        work = tempfile.mkdtemp(prefix="fake-githttp-cert-")
        cleanup.append(work)
        cert, key = make_server_cert(ca_pem, ca_key, work)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
    except BaseException:
        for directory in cleanup:
            shutil.rmtree(directory, ignore_errors=True)
        raise
    return context, ca_pem, cleanup
