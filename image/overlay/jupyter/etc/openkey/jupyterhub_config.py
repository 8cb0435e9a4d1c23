"""JupyterHub for the classroom key (services.jupyter.mode: hub), run by openkey-jupyterhub.service as root.

A student logs in with a name of their choosing and this boot's class password (on the server's console and the
portal). The first login makes the account: a POSIX user whose home (on the persistence partition) belongs to the
student and the teachers group, mode 2750, so no other student can open it and the teacher can read all of them.
Each student's notebook server runs in its own systemd scope with a memory and a CPU limit, so one student's
runaway notebook cannot stall the room. The teacher logs in as `teacher` with the teacher password (console only);
the teacher's server opens /home, every student's notebooks.
"""

import hmac
import os
import pwd
import re
import shutil
import subprocess

from jupyterhub.auth import Authenticator
from jupyterhub.objects import Server
from jupyterhub.proxy import ConfigurableHTTPProxy
from jupyterhub.spawner import LocalProcessSpawner
from tornado.ioloop import PeriodicCallback

c = get_config()  # noqa: F821 (JupyterHub's config loader defines it)

RUNTIME = "/run/openkey-jupyterhub"
NOTEBOOKS_ON_KEY = "/run/live/medium/openkey/notebooks"
TEACHER = "teacher"
TEACHERS_GROUP = "teachers"
# POSIX portable user names (lowercase, as Debian's adduser wants them), short enough for ps and ls.
STUDENT_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# Names that are system accounts or would be confusing as a student's.
RESERVED = {"root", "admin", "daemon", "nobody", "jupyter", "jupyterhub", "student", "students", TEACHERS_GROUP}
# Per student: a notebook with a few million events in numpy takes a few hundred MiB; the μ key's PC has 2 GiB and
# up, and the hub, the proxy and the analysis service need the rest. One core's worth of CPU at most each.
STUDENT_MEMORY_MAX = os.environ.get("OPENKEY_HUB_MEMORY_MAX", "768M")
STUDENT_CPU_QUOTA = os.environ.get("OPENKEY_HUB_CPU_QUOTA", "100%")
STUDENT_TASKS_MAX = "256"
FIRST_STUDENT_UID = 2000
# The hub gives the proxy 10 s to listen; Node's first start from a USB stick or a CD (or under QEMU's TCG) can take
# longer, so a slow start is waited for up to this long before the hub gives up.
PROXY_START_SECONDS = 180


def _secret(name):
    with open(os.path.join(RUNTIME, name), encoding="ascii") as file:
        return file.read().strip()


def _run(argv):
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)


def _ensure_student(name):
    """Makes the student's account at the first login; keeps the uid of a home an earlier boot left (persistence
    keeps /home, not /etc/passwd), so the student's files stay theirs."""
    home = f"/home/{name}"
    try:
        pwd.getpwnam(name)
    except KeyError:
        argv = ["useradd", "--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin",
                # The student's own group: never teachers, which may read every home.
                "--user-group", "-K", f"UID_MIN={FIRST_STUDENT_UID}", "-K", f"GID_MIN={FIRST_STUDENT_UID}"]
        if os.path.isdir(home):
            argv += ["--uid", str(os.stat(home).st_uid)]
        _run(argv + [name])
    entry = pwd.getpwnam(name)
    teachers = __import__("grp").getgrnam(TEACHERS_GROUP).gr_gid
    if not os.path.isdir(home):
        os.mkdir(home, 0o700)
    os.chown(home, entry.pw_uid, teachers)
    # setgid: files the student makes belong to the teachers group, which the student is not in.
    os.chmod(home, 0o2750)
    # The key's notebooks, copied as the student (never over the student's own edits).
    if os.path.isdir(NOTEBOOKS_ON_KEY):
        _run(["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", "--",
              "sh", "-c", 'umask 027; mkdir -p "$1/notebooks"; for n in "$2"/*/*.ipynb; do [ -f "$n" ] || continue; '
              't="$1/notebooks/$(basename "$n")"; [ -e "$t" ] || cp "$n" "$t"; done', "sh", home, NOTEBOOKS_ON_KEY])


class ClassPasswordAuthenticator(Authenticator):
    """Name + the class password of this boot for students; `teacher` + the teacher password for the teacher."""

    def check_allowed(self, username, authentication=None):
        return True

    def normalize_username(self, username):
        return username.strip().lower()

    async def authenticate(self, handler, data):
        name = self.normalize_username(data.get("username", ""))
        password = data.get("password", "")
        if name == TEACHER:
            return name if hmac.compare_digest(password, _secret("teacher-password")) else None
        if not STUDENT_NAME.match(name) or name in RESERVED:
            self.log.warning("refused login name %r: not a POSIX user name or reserved", name)
            return None
        if not hmac.compare_digest(password, _secret("class-password")):
            return None
        try:
            pwd.getpwnam(name)
            existing = True
        except KeyError:
            existing = False
        if existing and pwd.getpwnam(name).pw_uid < FIRST_STUDENT_UID:
            # A system account of the key (or the teacher's): never a student's login.
            return None
        _ensure_student(name)
        return name


class LimitedSpawner(LocalProcessSpawner):
    """The student's server in a transient scope with MemoryMax, CPUQuota and TasksMax, dropped to the student by
    setpriv (systemd-run must run as root to ask PID 1 for a system scope, so the spawner does not setuid first)."""

    def make_preexec_fn(self, name):
        # No chdir: the hub (root without CAP_DAC_OVERRIDE) cannot enter a home of mode 2750; the server is given
        # its folder as an argument. umask 027: what the student makes, the teachers group may read.
        def preexec():
            os.umask(0o027)

        return preexec

    def user_env(self, env):
        env = super().user_env(env)
        env["OPENKEY_URL"] = os.environ.get("OPENKEY_URL", "http://127.0.0.1:8080/")
        return env

    async def start(self):
        entry = pwd.getpwnam(self.user.name)
        root = "/home" if self.user.name == TEACHER else entry.pw_dir
        self.notebook_dir = root
        self.cmd = [
            "systemd-run", "--scope", "--quiet", "--collect", "--slice=openkey-students.slice",
            f"--description=Notebooks of {self.user.name}",
            "-p", f"MemoryMax={STUDENT_MEMORY_MAX}", "-p", f"CPUQuota={STUDENT_CPU_QUOTA}",
            "-p", f"TasksMax={STUDENT_TASKS_MAX}", "--",
            "setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups", "--",
            "jupyterhub-singleuser",
        ]
        return await super().start()


class PatientProxy(ConfigurableHTTPProxy):
    """configurable-http-proxy, waited for longer than the hub's fixed 10 s when its process is still running."""

    async def start(self):
        try:
            await super().start()
            return
        except TimeoutError:
            if self.proxy_process is None or self.proxy_process.poll() is not None:
                raise
        self.log.warning("the proxy is slow to start; waiting up to %d s for it", PROXY_START_SECONDS)
        for url in (self.public_url, self.api_url):
            await Server.from_url(url).wait_up(PROXY_START_SECONDS)
        # What the parent's start does once the proxy answers: watch that it keeps running.
        self._check_running_callback = PeriodicCallback(self.check_running, 1e3 * self.check_running_interval)
        self._check_running_callback.start()


c.JupyterHub.proxy_class = PatientProxy
c.JupyterHub.authenticator_class = ClassPasswordAuthenticator
c.JupyterHub.spawner_class = LimitedSpawner
c.JupyterHub.bind_url = "http://{}:{}/".format(
    os.environ.get("OPENKEY_JUPYTER_IP", "127.0.0.1"), os.environ.get("OPENKEY_JUPYTER_PORT", "8888")
)
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = 8081
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:8001"
c.ConfigurableHTTPProxy.command = ["configurable-http-proxy"]
c.JupyterHub.db_url = "sqlite:////var/lib/openkey-jupyterhub/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "/var/lib/openkey-jupyterhub/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = os.path.join(RUNTIME, "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = os.path.join(RUNTIME, "proxy.pid")
c.Authenticator.admin_users = {TEACHER}
c.Authenticator.allow_all = True
# The classic notebook (Debian's jupyter-notebook 6: trixie has no JupyterLab and no nbclassic), the same UI as
# the single-user server on the L key; jupyter-server alone would answer the REST API with no page for a browser.
c.Spawner.environment = {"JUPYTERHUB_SINGLEUSER_APP": "notebook"}
c.Spawner.default_url = "/tree"
# A student's server starts in 10 to 30 s on a slow classroom PC (and far slower under QEMU's TCG in the tests).
c.Spawner.http_timeout = 180
c.Spawner.start_timeout = 240
# Logging out stops the student's server, so its memory is back for the room.
c.JupyterHub.shutdown_on_logout = True
