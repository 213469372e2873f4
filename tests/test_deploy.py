"""The deployment files (``deploy/``, ``Dockerfile``, ``compose.yaml``, ``compose.postgres.yaml``,
``.dockerignore``) work and agree with each other and with docs/going-live.md and docs/scaling.md.

The image is built for real when Docker is usable here (``docker info`` succeeds); the systemd
units are checked by ``systemd-analyze verify`` when it is installed. Without them those two
tests skip, saying how to enable them; the checks of what the files say run everywhere.
"""

from __future__ import annotations

import configparser
import fnmatch
import re
import shlex
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from bot.delivery.outbox import STOP_GRACE

REPOSITORY = Path(__file__).resolve().parents[1]
DEPLOY = REPOSITORY / "deploy"
UNITS = ("meedoen.service", "meedoen-backup.service", "meedoen-backup.timer")
GUIDE = REPOSITORY / "docs" / "going-live.md"


# --- helpers -----------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (INSTRUCTION, arguments), continuation lines joined."""
    text = (REPOSITORY / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in dockerfile():
        if keyword == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(rest))
    return env


def only(keyword: str) -> str:
    values = [rest for kw, rest in dockerfile() if kw == keyword]
    assert values, f"the Dockerfile has no {keyword}"
    return values[-1]


def sqlite_path(url: str) -> Path:
    return Path(make_url(url).database)


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive in systemd
    parser.read(DEPLOY / name, encoding="utf-8")
    return parser


def guide_database_url() -> str:
    """The MEEDOEN_DATABASE_URL line docs/going-live.md tells a systemd user to put in .env."""
    found = re.findall(r"^MEEDOEN_DATABASE_URL=(\S+)$", GUIDE.read_text(encoding="utf-8"), re.M)
    assert found, "docs/going-live.md no longer shows the MEEDOEN_DATABASE_URL line for .env"
    return found[0]


# --- Docker ------------------------------------------------------------------------------


def docker_usable() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=60)
    return probe.returncode == 0


def test_the_image_builds_and_runs_meedoen_as_a_user():
    if not docker_usable():
        pytest.skip("Docker is not usable here (`docker info` fails): start the Docker daemon and let this user use it to build the image in this test")
    tag = f"meedoen-test:{uuid.uuid4().hex[:12]}"
    subprocess.run(["docker", "build", "--quiet", "-t", tag, str(REPOSITORY)], check=True, timeout=1800)
    try:
        helped = subprocess.run(["docker", "run", "--rm", tag, "--help"], capture_output=True, text=True, timeout=120)
        assert helped.returncode == 0, helped.stderr
        assert "usage: meedoen" in helped.stdout and "run" in helped.stdout
        uid = subprocess.run(
            ["docker", "run", "--rm", "--entrypoint", "id", tag, "-u"], capture_output=True, text=True, timeout=120
        )
        assert uid.stdout.strip() not in ("", "0")
    finally:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, timeout=120)


def test_the_dockerfile_runs_meedoen_as_a_user_with_the_database_in_its_volume():
    assert only("FROM") == "python:3.11-slim"
    assert only("USER") not in ("root", "0")
    assert only("ENTRYPOINT") == '["meedoen"]' and only("CMD") == '["run"]'
    env = dockerfile_env()
    assert env["MEEDOEN_HTTP_HOST"] == "0.0.0.0"
    volumes = [Path(v) for v in re.findall(r'"([^"]+)"', only("VOLUME"))]
    database = sqlite_path(env["MEEDOEN_DATABASE_URL"])
    assert database.is_absolute() and database.parent in volumes
    assert env["MEEDOEN_HTTP_PORT"] in only("EXPOSE").split()


def test_the_backup_folder_is_given_to_the_containers_user():
    """The guide and compose.yaml tell the operator to chown ./backups to the image's uid."""
    uid = re.search(r"useradd .*--uid (\d+)", " ".join(rest for kw, rest in dockerfile() if kw == "RUN")).group(1)
    for text in (GUIDE.read_text(encoding="utf-8"), (REPOSITORY / "compose.yaml").read_text(encoding="utf-8")):
        assert f"sudo chown {uid}:{uid} backups" in text


def test_compose_uses_the_image_settings_the_env_file_and_the_volume():
    text = (REPOSITORY / "compose.yaml").read_text(encoding="utf-8")
    env = dockerfile_env()
    assert re.search(r"^\s+env_file: \.env$", text, re.M)
    assert f"MEEDOEN_DATABASE_URL: {env['MEEDOEN_DATABASE_URL']}" in text
    assert "MEEDOEN_HTTP_HOST: 0.0.0.0" in text
    volume_path = sqlite_path(env["MEEDOEN_DATABASE_URL"]).parent
    assert re.search(rf"^\s+- (\S+):{re.escape(str(volume_path))}$", text, re.M), "no volume for the database"
    ports = re.findall(r'^\s+- "(?:[\d.]+:)?\d+:(\d+)"$', text, re.M)
    assert ports == [env["MEEDOEN_HTTP_PORT"]]
    grace = re.search(r"^\s+stop_grace_period: (\d+)s$", text, re.M)
    assert grace and int(grace.group(1)) >= STOP_GRACE + 15, "docker stop would kill it after 10 s"


# --- compose.postgres.yaml: several instances on PostgreSQL (docs/scaling.md) -------------


def instances_compose() -> dict:
    return yaml.safe_load((REPOSITORY / "compose.postgres.yaml").read_text(encoding="utf-8"))


def meedoen_services(compose: dict) -> dict[str, dict]:
    return {name: service for name, service in compose["services"].items() if service.get("build") == "."}


def test_the_postgres_variant_runs_two_instances_of_the_same_image_on_one_postgresql():
    compose = instances_compose()
    instances = meedoen_services(compose)
    assert len(instances) == 2
    image = dockerfile_env()
    for name, service in instances.items():
        assert service["image"] == "meedoen:latest" and service["env_file"] == ".env", name
        assert service["restart"] == "unless-stopped", name
        assert int(service["stop_grace_period"].rstrip("s")) >= STOP_GRACE + 15, name
        environment = service["environment"]
        assert environment["MEEDOEN_HTTP_HOST"] == "0.0.0.0"
        assert environment["MEEDOEN_HTTP_PORT"] == image["MEEDOEN_HTTP_PORT"]
        assert "ports" not in service, f"{name} is reached through the balancer only"
        url = make_url(environment["MEEDOEN_DATABASE_URL"].replace("${POSTGRES_PASSWORD}", "secret"))
        assert url.drivername == "postgresql+asyncpg", name
        assert url.host in compose["services"] and url.port == 5432, name
        assert service["depends_on"][url.host]["condition"] == "service_healthy", name
    urls = {service["environment"]["MEEDOEN_DATABASE_URL"] for service in instances.values()}
    assert len(urls) == 1, "the instances must share one database"
    # The settings check accepts it, as `meedoen run` does at start.
    from bot.config import check_database_url

    check_database_url(urls.pop().replace("${POSTGRES_PASSWORD}", "secret"))


def test_the_postgres_variant_keeps_postgresql_private_and_its_password_out_of_the_file():
    compose = instances_compose()
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "ports" not in postgres
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")
    assert volume[1] == "/var/lib/postgresql/data" and volume[0] in compose["volumes"]


def test_the_second_instance_starts_after_the_first_has_migrated():
    instances = list(meedoen_services(instances_compose()).items())
    (first, _), (_, second) = instances
    assert second["depends_on"][first]["condition"] == "service_healthy"
    assert any(keyword == "HEALTHCHECK" for keyword, _ in dockerfile()), "service_healthy needs the image's HEALTHCHECK"


def test_the_balancer_spreads_over_every_instance_and_only_this_machine_reaches_it():
    compose = instances_compose()
    instances = meedoen_services(compose)
    balancer = compose["services"]["balancer"]
    assert balancer["ports"] == [f"127.0.0.1:{dockerfile_env()['MEEDOEN_HTTP_PORT']}:8080"]
    source, target, *_ = balancer["volumes"][0].split(":")
    config = (REPOSITORY / source).read_text(encoding="utf-8")
    assert target == "/etc/nginx/conf.d/default.conf"
    assert re.search(r"^\s*listen 8080;", config, re.M)
    upstream = re.search(r"upstream meedoen \{(.*?)\}", config, re.S).group(1)
    servers = re.findall(r"server (\S+?):(\d+)", upstream)
    assert sorted(servers) == sorted((name, s["environment"]["MEEDOEN_HTTP_PORT"]) for name, s in instances.items())
    assert "proxy_pass http://meedoen;" in config
    assert set(balancer["depends_on"]) == set(instances)


def test_the_postgres_variant_names_the_settings_several_instances_need():
    """Several instances take Telegram's updates by webhook: the file says to set the public
    address and the webhook secret, settings that .env.example has."""
    text = (REPOSITORY / "compose.postgres.yaml").read_text(encoding="utf-8")
    example = (REPOSITORY / ".env.example").read_text(encoding="utf-8")
    for setting in ("MEEDOEN_PUBLIC_URL", "TELEGRAM_WEBHOOK_SECRET"):
        assert f"#     {setting}=" in text and f"# {setting}=" in example, setting
    assert "POSTGRES_PASSWORD=" in text
    assert "compose.postgres.yaml" in (REPOSITORY / "docs" / "scaling.md").read_text(encoding="utf-8")


def dockerignore() -> list[str]:
    lines = (REPOSITORY / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str) -> bool:
    """Docker's rule for these simple patterns: a pattern matches the path or a folder above it
    (``**/`` matches at any depth). Exceptions (``!``) are not used in .dockerignore."""
    patterns = dockerignore()
    assert not any(p.startswith("!") for p in patterns), "update ignored() for ! patterns"
    parts = Path(path).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        for prefix in prefixes:
            if fnmatch.fnmatch(prefix, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatch(prefix.split("/")[-1], pattern[3:])
            ):
                return True
    return False


def test_dockerignore_keeps_settings_and_data_out_and_lets_the_package_in():
    for secret in (".env", "meedoen.db", "meedoen.db-wal", "demo-data/x.db", "backups/meedoen-1.db", ".git/config"):
        assert ignored(secret), secret
    copied = []
    for keyword, rest in dockerfile():
        if keyword == "COPY":
            copied += [source for source in shlex.split(rest)[:-1] if not source.startswith("--")]
    assert "README.md" in copied  # pyproject.toml names it as the package's readme
    for source in copied:
        assert (REPOSITORY / source).exists(), source
        assert not ignored(source), f".dockerignore hides {source}, which the Dockerfile copies"
    assert ignored("bot/__pycache__/x.pyc") and not ignored("bot/engine/engine.py")


# --- systemd -----------------------------------------------------------------------------


def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: install systemd (apt-get install systemd) to check deploy/*.service in this test")
    installed = REPOSITORY / ".venv" / "bin" / "meedoen"
    if not installed.exists():
        pytest.skip("no .venv/bin/meedoen: run `make` first")
    for name in UNITS:
        text = (DEPLOY / name).read_text(encoding="utf-8")
        # The units name the installed program; verify checks that it exists, so point it here.
        (tmp_path / name).write_text(text.replace("/opt/meedoen/.venv/bin/meedoen", str(installed)))
    result = subprocess.run(
        [analyze, "verify", *(str(tmp_path / name) for name in UNITS)], capture_output=True, text=True, timeout=120
    )
    complaints = [
        line for line in (result.stdout + result.stderr).splitlines()
        if str(tmp_path) in line or "Unknown" in line or "Failed" in line
    ]
    assert result.returncode == 0 and not complaints, "\n".join(complaints)


def test_the_service_runs_meedoen_as_its_own_user_and_can_write_only_the_database_folder():
    service = unit("meedoen.service")["Service"]
    assert service["ExecStart"] == "/opt/meedoen/.venv/bin/meedoen run"
    assert service["User"] == "meedoen" and service["Restart"] == "on-failure"
    # Time for a clean stop: the senders get STOP_GRACE, then the channels stop.
    assert int(service["TimeoutStopSec"]) >= STOP_GRACE + 15
    # A failed start is tried again too: "could not reach Telegram" (exit 2) may pass by itself.
    assert "RestartPreventExitStatus" not in service
    assert service["WorkingDirectory"] == "/opt/meedoen"
    assert service["EnvironmentFile"] == "/opt/meedoen/.env"
    assert service["ProtectSystem"] == "strict" and "ReadOnlyPaths" not in service
    # Under ProtectSystem=strict only the StateDirectory is writable: the guide's database
    # must lie right in it (SQLite writes the -wal and -shm files beside the database).
    writable = [Path("/var/lib") / d for d in service["StateDirectory"].split()]
    assert sqlite_path(guide_database_url()).parent in writable


def test_the_backup_runs_meedoen_db_backup_into_its_folder_every_night():
    backup = unit("meedoen-backup.service")["Service"]
    assert backup["Type"] == "oneshot" and backup["User"] == "meedoen"
    assert backup["EnvironmentFile"] == "/opt/meedoen/.env"
    command = backup["ExecStart"]
    assert "/opt/meedoen/.venv/bin/meedoen db backup " in command
    target = re.search(r'db backup "([^"$]+)/', command).group(1)
    assert target in [f"/var/lib/{d}" for d in backup["StateDirectory"].split()]
    assert "%%Y" in command  # a lone % would be a systemd specifier
    timer = unit("meedoen-backup.timer")
    assert timer["Timer"]["OnCalendar"] and timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_make_install_installs_what_run_needs_as_the_guide_says():
    """The guide's install and upgrade step is `make install`: Meedoen in .venv without the
    test extra (a server needs no pytest)."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    guide = GUIDE.read_text(encoding="utf-8")
    assert "sudo make install\n" in guide and "sudo make\n" not in guide
    dry = subprocess.run([make, "-n", "install"], cwd=REPOSITORY, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    installs = [line for line in dry.stdout.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    assert installs and all(line.rstrip().endswith(" .") for line in installs), dry.stdout
    assert "[test]" not in dry.stdout and "pytest" not in dry.stdout
