"""The front door: Debian's nginx before the Rasa servers and the web app (make run-prod,
docs/deployment.md). Its config is ``deploy/nginx.conf`` with this deployment's
addresses and limits filled in, so the repo holds one file an operator can read and the
settings stay the one place a limit is written down."""

from __future__ import annotations

import grp
import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from bot import settings

TEMPLATE = settings.PROJECT_ROOT / "deploy" / "nginx.conf"
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
DOWN_SECONDS = 5  # a server that refused a connection is left out this long
MAX_FAILS = 3  # failures in DOWN_SECONDS, counted by each nginx worker, before it does
HEALTH_PATH = "/frontdoor/healthz"


@dataclass(frozen=True)
class Door:
    listen: str  # host:port
    rasa_servers: tuple[str, ...]  # host:port each
    web: str  # host:port
    prefix: Path  # nginx's own directory: its pid file and buffers


def door_from_settings(prefix: Path | None = None) -> Door:
    current = settings.get()
    return Door(
        listen=f"{current.front_door_host}:{current.front_door_port}",
        rasa_servers=current.rasa_servers,
        web=f"{current.web_host}:{current.web_port}",
        prefix=prefix or settings.PROJECT_ROOT / "var" / "nginx",
    )


def _worker_user() -> str:
    """As root, nginx's workers run as nobody (with Debian's group for it)."""
    if os.geteuid() != 0:
        return ""
    try:
        grp.getgrnam("nogroup")
    except KeyError:
        return "user nobody;"
    return "user nobody nogroup;"


def render(door: Door, current: settings.Settings | None = None) -> str:
    current = current or settings.get()
    limit = current.client_rate_limit
    servers = "\n".join(
        f"        server {server} max_fails={MAX_FAILS} fail_timeout={DOWN_SECONDS}s;"
        for server in door.rasa_servers
    )
    values = {
        "user": _worker_user(),
        "prefix": str(door.prefix.resolve()),
        "listen": door.listen,
        "rasa_servers": servers,
        "web": door.web,
        "body_limit": f"{settings.REQUEST_MAX_BYTES // 1024}k",
        "client_per_minute": str(math.ceil(limit.per_minute)),
        # nginx lets the first request and then ``burst`` more through at once
        "client_burst": str(max(limit.burst - 1, 0)),
        "retry_after": str(math.ceil(60 / limit.per_minute)),
        "down_seconds": str(DOWN_SECONDS),
    }

    def filled(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise ValueError(f"{TEMPLATE}: no value for {{{{ {name} }}}}")
        return values[name]

    return PLACEHOLDER.sub(filled, TEMPLATE.read_text(encoding="utf-8"))


def nginx() -> str:
    """The nginx binary (Debian puts it in /usr/sbin, which a user's PATH may lack)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise FileNotFoundError(
            "nginx is missing: `make run-prod` installs Debian's nginx-light as root, "
            "or run 'sudo apt-get install nginx-light'"
        )
    return found


def prepare(door: Door, current: settings.Settings | None = None) -> list[str]:
    """Write the config into the door's directory; the command that serves it in the
    foreground (its errors on stderr)."""
    door.prefix.mkdir(parents=True, exist_ok=True)
    config = door.prefix / "nginx.conf"
    config.write_text(render(door, current), encoding="utf-8")
    prefix = str(door.prefix.resolve())
    return [nginx(), "-e", "stderr", "-p", prefix, "-c", str(config.resolve()), "-g", "daemon off;"]


def serve(door: Door) -> None:
    """Become nginx: the launcher's signals then reach it directly."""
    command = prepare(door)
    os.execv(command[0], command)
