"""Settings: the environment is read in one place, with working defaults on a fresh machine."""

from __future__ import annotations

import pytest

from survey_app.settings import Settings, get_settings


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    for name in (
        "MINPING_DATA_DIR",
        "MINPING_DATABASE_URL",
        "MINPING_SECRET_KEY",
        "MINPING_PUBLIC_BASE_URL",
        "MINPING_FLAG_INTERVAL",
        "MINPING_RESIDENT_POSTS_PER_MINUTE",
        "MINPING_FORWARDED_ALLOW_IPS",
        "MINPING_ALLOWED_HOSTS",
        "MINPING_ORGANISER",
        "MINPING_HOTLINE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_defaults_create_a_data_folder_with_sqlite_and_a_kept_secret(fresh):
    settings = get_settings()
    assert settings.data_dir == fresh / "minping-data" and settings.data_dir.is_dir()
    assert settings.database_url == f"sqlite:///{fresh / 'minping-data' / 'minping.sqlite3'}"
    assert not settings.is_postgres and settings.public_base_url is None
    assert settings.flag_interval_s == 600 and settings.resident_posts_per_minute == 300
    assert settings.forwarded_allow_ips is None  # no proxy is believed unless named
    key_file = settings.data_dir / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    get_settings.cache_clear()
    assert get_settings().secret_key == settings.secret_key == key_file.read_text()
    assert len(settings.secret_key) >= 48


def test_environment_overrides(fresh, monkeypatch):
    monkeypatch.setenv("MINPING_DATA_DIR", str(fresh / "elsewhere"))
    monkeypatch.setenv("MINPING_DATABASE_URL", "postgresql://u@db.example/minping")
    monkeypatch.setenv("MINPING_SECRET_KEY", "k")
    monkeypatch.setenv("MINPING_PUBLIC_BASE_URL", "https://pj.example/")
    monkeypatch.setenv("MINPING_FLAG_INTERVAL", "30")
    monkeypatch.setenv("MINPING_RESIDENT_POSTS_PER_MINUTE", "1200")
    monkeypatch.setenv("MINPING_WEBHOOK_INTERVAL", "2")
    (fresh / "2027.yaml").write_text("2027: {holidays: []}")
    monkeypatch.setenv("MINPING_HOLIDAYS_FILE", str(fresh / "2027.yaml"))
    monkeypatch.setenv("MINPING_ORGANISER", " 丽水市创建文明城市工作指挥部办公室 ")
    monkeypatch.setenv("MINPING_HOTLINE", "12345")
    settings = get_settings()
    assert settings == Settings(
        data_dir=fresh / "elsewhere",
        database_url="postgresql://u@db.example/minping",
        secret_key="k",
        public_base_url="https://pj.example",
        redis_url=None,
        debug=False,
        flag_interval_s=30.0,
        resident_posts_per_minute=1200,
        holidays_file=fresh / "2027.yaml",
        organiser="丽水市创建文明城市工作指挥部办公室",
        hotline="12345",
        webhook_interval_s=2.0,
    )
    assert settings.is_postgres


def test_unsupported_database_url_is_refused(fresh, monkeypatch):
    monkeypatch.setenv("MINPING_DATABASE_URL", "mysql://x")
    with pytest.raises(ValueError, match="must start with sqlite:/// or postgresql://"):
        get_settings()


def test_trusted_proxies_are_addresses_or_networks(fresh, monkeypatch):
    monkeypatch.setenv("MINPING_FORWARDED_ALLOW_IPS", " 10.0.0.5, 192.168.1.0/24 ,::1")
    assert get_settings().forwarded_allow_ips == "10.0.0.5,192.168.1.0/24,::1"
    get_settings.cache_clear()
    monkeypatch.setenv("MINPING_FORWARDED_ALLOW_IPS", "10.0.0.5,proxy.example")
    with pytest.raises(ValueError, match="MINPING_FORWARDED_ALLOW_IPS names 'proxy.example'"):
        get_settings()


def test_allowed_hosts_are_names_in_lower_case(fresh, monkeypatch):
    assert get_settings().allowed_hosts == ()
    get_settings.cache_clear()
    monkeypatch.setenv("MINPING_ALLOWED_HOSTS", "PJ.Lishui.example., 10.0.0.8 ,")
    assert get_settings().allowed_hosts == ("pj.lishui.example", "10.0.0.8")
