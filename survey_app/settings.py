"""The one place that reads the environment.

Every other module asks `get_settings()`; tests set `MINPING_*` variables before the first call and
call `get_settings.cache_clear()` when they need a fresh read.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PACKAGE_DIR = Path(__file__).resolve().parent
# An installed wheel carries templates/, questionnaires/ and schemes/ inside the package (see pyproject's
# force-include); a source checkout keeps them at the repository root.
_BUNDLED = PACKAGE_DIR / "_bundled"
_ROOT = _BUNDLED if _BUNDLED.is_dir() else PACKAGE_DIR.parent
TEMPLATES_DIR = _ROOT / "templates"
QUESTIONNAIRES_DIR = _ROOT / "questionnaires"
SCHEMES_DIR = _ROOT / "schemes"
LOCALES_DIR = PACKAGE_DIR / "locales"

DEFAULT_DATA_DIR = "minping-data"
SECRET_KEY_FILE = "secret_key"


@dataclass(frozen=True)
class Settings:
    """Deployment configuration, read once from `MINPING_*` environment variables."""

    data_dir: Path
    database_url: str
    secret_key: str
    #: Origin printed into QR codes and links; None means "the address being served".
    public_base_url: str | None
    redis_url: str | None
    debug: bool
    #: Seconds between the fraud-flag passes each worker runs (survey_app/quarantine.py); 0 = none.
    flag_interval_s: float = 600.0
    #: The flood guard: resident POSTs a minute per client address (survey_app/web/flood_guard.py).
    resident_posts_per_minute: int = 300
    #: The State Council's holiday notices for years the `chinesecalendar` package does not know yet
    #: (survey_app/cases/workdays.py); read when the file exists.
    holidays_file: Path | None = None
    #: The city's time zone (IANA name), in which every time is shown and dates are read (localtime.py).
    time_zone: str = "Asia/Shanghai"
    #: The reverse proxies whose X-Forwarded-For/-Proto are believed (addresses or networks, comma-
    #: separated, as uvicorn's --forwarded-allow-ips); None: no proxy, the socket's address is the client's.
    forwarded_allow_ips: str | None = None
    #: Host names served besides loopback ones when `public_base_url` is not set (web/security.py).
    allowed_hosts: tuple[str, ...] = ()
    #: Who runs the appraisal and the number residents may call, printed on every poster ("" = none).
    organiser: str = ""
    hotline: str = ""
    #: Seconds between the webhook passes each worker runs (survey_app/webhooks.py); 0 = none.
    webhook_interval_s: float = 5.0

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.removeprefix("sqlite:///"))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the environment, creating the data folder and secret key on first run."""
    env = os.environ
    data_dir = Path(env.get("MINPING_DATA_DIR") or DEFAULT_DATA_DIR).resolve()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # a new folder is the owner's alone
    database_url = env.get("MINPING_DATABASE_URL") or f"sqlite:///{data_dir / 'minping.sqlite3'}"
    if not database_url.startswith(("sqlite:///", "postgres://", "postgresql://")):
        raise ValueError(f"MINPING_DATABASE_URL must start with sqlite:/// or postgresql://, got {database_url!r}")
    base_url = (env.get("MINPING_PUBLIC_BASE_URL") or "").rstrip("/") or None
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key=env.get("MINPING_SECRET_KEY") or _stored_secret_key(data_dir),
        public_base_url=base_url,
        redis_url=env.get("MINPING_REDIS_URL") or None,
        debug=env.get("MINPING_DEBUG", "").lower() in ("1", "true", "yes"),
        flag_interval_s=float(env.get("MINPING_FLAG_INTERVAL") or 600),
        resident_posts_per_minute=int(env.get("MINPING_RESIDENT_POSTS_PER_MINUTE") or 300),
        holidays_file=_holidays_file(env.get("MINPING_HOLIDAYS_FILE"), data_dir),
        time_zone=_time_zone(env.get("MINPING_TIME_ZONE") or "Asia/Shanghai"),
        forwarded_allow_ips=trusted_proxies(env.get("MINPING_FORWARDED_ALLOW_IPS")),
        allowed_hosts=tuple(
            h.strip().lower().rstrip(".") for h in env.get("MINPING_ALLOWED_HOSTS", "").split(",") if h.strip()
        ),
        organiser=env.get("MINPING_ORGANISER", "").strip(),
        hotline=env.get("MINPING_HOTLINE", "").strip(),
        webhook_interval_s=float(env.get("MINPING_WEBHOOK_INTERVAL") or 5),
    )


def trusted_proxies(named: str | None, source: str = "MINPING_FORWARDED_ALLOW_IPS") -> str | None:
    """The trusted proxies as uvicorn reads them: each an IP address or network; `*` trusts anyone,
    which is only right when nothing but the proxy can reach the server. `source` names the setting
    in the refusal."""
    entries = [entry.strip() for entry in (named or "").split(",") if entry.strip()]
    for entry in entries:
        if entry != "*":
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{source} names {entry!r}, which is no IP address or network") from None
    return ",".join(entries) or None


def _time_zone(name: str) -> str:
    """An IANA time zone name the system knows (e.g. Asia/Shanghai), or a clear refusal."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"MINPING_TIME_ZONE names {name!r}, which is not a known time zone") from exc
    return name


def _holidays_file(named: str | None, data_dir: Path) -> Path:
    """A file named in the environment must exist; the data folder's default is optional."""
    if not named:
        return data_dir / "holidays.yaml"
    if not Path(named).is_file():
        raise ValueError(f"MINPING_HOLIDAYS_FILE names {named!r}, which is not a file")
    return Path(named)


def _stored_secret_key(data_dir: Path) -> str:
    """Return the key kept in the data folder, generating it on first run (readable by owner only)."""
    path = data_dir / SECRET_KEY_FILE
    if not path.exists():
        # O_EXCL: when several workers start at once exactly one writes the key and the others read it.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
    key = path.read_text().strip()
    if not key:  # another worker created the file but has not written it yet
        raise RuntimeError(f"secret key file {path} is empty; set MINPING_SECRET_KEY or delete it")
    return key
