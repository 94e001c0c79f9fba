"""noa_ops.k8s_render: the variants are the committed folders k8s/variants/*, and what an operator
renders from one by hand is byte for byte what `nox -s validate` checks and `invoke deploy` applies."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from invoke.config import Config
from invoke.context import Context

from noa_ops import envfile, environments, k8s_render, paths, validation
from noa_ops.targets import kubernetes

from .helpers import REPO, mock_context

K8S = REPO / "k8s"
# The same values for every path, so the dev Secret (and its name's content hash) can be compared.
# (the env file holds every generated secret; the dev Secret what the pods read, API_CLIENTS derived).
ENV_VALUES = {key: f"fixed-{key.lower().replace('_', '-')}-0123456789abcdef"
              for key in envfile.GENERATED_SECRETS}
SECRETS = k8s_render.secret_values(ENV_VALUES)


def needs_kubectl() -> None:
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not installed: scripts/bootstrap builds the pinned one")


def folders(k8s: Path) -> list[str]:
    """Listed without k8s_render, so a folder its discovery skipped would show."""
    return sorted(path.name for path in (k8s / "variants").iterdir() if path.is_dir())


def copy_tree(tmp_path: Path) -> Path:
    copy = tmp_path / "tree" / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("secrets.env"))
    return copy


def add_variant(k8s: Path, name: str, body: str) -> None:
    (k8s / "variants" / name).mkdir()
    (k8s / "variants" / name / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" + body
    )


def test_the_shipped_variants_are_the_committed_folders() -> None:
    assert [v.name for v in k8s_render.shipped()] == folders(K8S) == [
        "dev", "prod-external-secrets", "prod-external-secrets-monitoring", "prod-sealed-secrets",
        "staging-external-secrets", "staging-local", "staging-sealed-secrets",
    ]
    assert all(v.directory == Path("variants") / v.name for v in k8s_render.shipped())


def test_validate_renders_every_committed_variant_folder(tmp_path: Path) -> None:
    """validate's render step (validate-checkov's too, run alone) names no variant: it renders them all."""
    needs_kubectl()
    render = validation.step("render").argv
    assert render == ("python", "-m", "noa_ops.k8s_render", "--out", validation.RENDER_DIR)
    assert k8s_render.main(["--out", str(tmp_path)]) == 0
    rendered = sorted(path.stem for path in tmp_path.glob("*.yaml"))
    # Every folder, plus the staging and prod overlays alone (checked, never deployed).
    assert rendered == sorted([*folders(K8S), "staging", "prod"])


@pytest.mark.parametrize("name", folders(K8S))
def test_kubectl_kustomize_of_a_folder_is_what_validate_checks_and_deploy_applies(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    needs_kubectl()
    item = k8s_render.variant(name)
    # By hand, on the real tree; dev needs k8s/overlays/dev/secrets.env, so it gets a copy (an
    # operator's own file is never touched).
    tree = K8S
    if item.overlay == "dev":
        tree = copy_tree(tmp_path)
        (tree / k8s_render.DEV_SECRETS_FILE).write_text("".join(f"{k}={v}\n" for k, v in SECRETS.items()))
    by_hand = subprocess.run(["kubectl", "kustomize", str(tree / "variants" / name)],
                             capture_output=True, text=True, check=True).stdout
    # What `nox -s validate` checks.
    monkeypatch.setattr(k8s_render, "throwaway_secrets", lambda: envfile.render("validation", SECRETS))
    checked = k8s_render.render_variants(K8S, tmp_path / "render", [item])[name].read_text()
    # What a deploy applies (before pinning the images): kubernetes.render of kubernetes.stage.
    monkeypatch.chdir(tmp_path)
    env_file = tmp_path / "env" / f"{item.overlay}.env"
    env_file.parent.mkdir()
    env_file.write_text(envfile.render(item.overlay, ENV_VALUES))
    env = replace(environments.select(mock_context(), item.overlay), kube_variant=name, env_file=env_file)
    staged = kubernetes.stage(env, kubernetes.variant_for(env))
    assert staged == paths.state("render", item.overlay, "k8s", "variants", name)
    deployed = kubernetes.render(Context(Config(overrides={"run": {"in_stream": False}})), staged)
    assert by_hand == checked == deployed
    assert k8s_render.count_objects(by_hand) > 40


def _dev_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: str) -> dict[str, str]:
    """noa-config of a dev deploy's render whose env file also holds `settings`."""
    tmp_path.mkdir()
    monkeypatch.chdir(tmp_path)
    env_file = tmp_path / "env" / "dev.env"
    env_file.parent.mkdir()
    env_file.write_text(envfile.render("dev", ENV_VALUES) + settings)
    env = replace(environments.select(mock_context(), "dev"), env_file=env_file)
    staged = kubernetes.stage(env, kubernetes.variant_for(env))
    rendered = kubernetes.render(Context(Config(overrides={"run": {"in_stream": False}})), staged)
    [config] = [doc for doc in yaml.safe_load_all(rendered)
                if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].startswith("noa-config")]
    return dict(config["data"])


def test_a_dev_deploy_merges_the_env_file_s_settings_into_noa_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As compose reads the env file: a setting there reaches the pods, the overlay's LOG_LEVEL
    included; the ports stay the manifests' and no secret lands in the ConfigMap."""
    needs_kubectl()
    plain = _dev_config(tmp_path / "plain", monkeypatch, "")
    assert plain["CLAUDE_FLOW_MAX_STEPS"] == "100" and plain["LOG_LEVEL"] == "debug"
    merged = _dev_config(tmp_path / "set", monkeypatch,
                         "CLAUDE_FLOW_MAX_STEPS=7\nLOG_LEVEL=warning\nMCP_PORT=18001\nREDIS_TLS=true\n")
    assert {key: merged[key] for key in ("CLAUDE_FLOW_MAX_STEPS", "LOG_LEVEL", "REDIS_TLS")} == {
        "CLAUDE_FLOW_MAX_STEPS": "7", "LOG_LEVEL": "warning", "REDIS_TLS": "true"}
    assert merged.get("MCP_PORT") == plain.get("MCP_PORT"), "the ports stay the manifests'"
    assert set(merged) == set(plain), "no key the base does not carry"
    for value in ENV_VALUES.values():
        assert value not in merged.values()


def test_setting_values_leave_out_secrets_ports_and_unknown_names() -> None:
    chosen = k8s_render.setting_values({
        "CLAUDE_FLOW_MAX_STEPS": "7", "JWT_SECRET": "s" * 40, "MCP_PORT": "18001", "NOT_A_SETTING": "x",
        "CORS_ORIGIN": "", "MCP_SEARCH_MAX_RESULTS": "9", "POSTGRES_PASSWORD": "p" * 20})
    assert chosen == {"CLAUDE_FLOW_MAX_STEPS": "7", "MCP_SEARCH_MAX_RESULTS": "9"}


def test_a_missing_component_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A near miss: the folder names a component that merely resembles one that exists."""
    copy = copy_tree(tmp_path)
    add_variant(copy, "prod-sealed-secrets-v2", "namespace: noa-server-prod\nresources:\n"
                "  - ../../overlays/prod\ncomponents:\n  - ../../components/sealed-secrets-v2\n")
    expected = ("k8s/variants/prod-sealed-secrets-v2/kustomization.yaml: ../../components/sealed-secrets-v2 "
                "does not exist (k8s/components has: cpu-llama, external-secrets, gpu, monitoring, "
                "sealed-secrets, small-resources)")
    with pytest.raises(k8s_render.VariantError) as raised:
        k8s_render.variants(copy)
    assert str(raised.value) == expected
    assert k8s_render.main(["--k8s", str(copy), "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err == f"render: {expected}\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", "resources must be exactly one ../../overlays/<overlay>, not []"),
        ("resources:\n  - ../../overlays/prod\n  - extra.yaml\n",
         "not ['../../overlays/prod', 'extra.yaml']"),
        ("resources: [../../overlays/qa]\n", "../../overlays/qa does not exist (k8s/overlays has: dev, prod"),
        ("resources:\n  - ../../overlays/prod\ncomponents:\n  - ../vault\n", "component '../vault' is not"),
    ],
)
def test_a_folder_that_is_no_variant_is_one_line(tmp_path: Path, body: str, expected: str) -> None:
    copy = copy_tree(tmp_path)
    add_variant(copy, "odd", body)
    with pytest.raises(k8s_render.VariantError, match=r"^k8s/variants/odd/kustomization\.yaml: ") as raised:
        k8s_render.variants(copy)
    assert expected in str(raised.value) and "\n" not in str(raised.value)


def test_a_folder_without_a_kustomization_is_named(tmp_path: Path) -> None:
    copy = copy_tree(tmp_path)
    (copy / "variants" / "empty").mkdir()
    with pytest.raises(k8s_render.VariantError, match=r"^k8s/variants/empty/kustomization\.yaml is missing"):
        k8s_render.variants(copy)


def test_an_unknown_variant_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert k8s_render.main(["--out", str(tmp_path), "--variant", "staging-external-secrets-old"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("render: unknown variant 'staging-external-secrets-old'; valid: dev, prod, ")
    assert error.count("\n") == 1


def test_staging_keeps_an_operators_dev_secrets_and_copies_the_variants(tmp_path: Path) -> None:
    copy = copy_tree(tmp_path)
    (copy / k8s_render.DEV_SECRETS_FILE).write_text("POSTGRES_PASSWORD=the-operators-own\n")
    staged = k8s_render.stage(copy, tmp_path / "scratch")
    assert (copy / k8s_render.DEV_SECRETS_FILE).read_text() == "POSTGRES_PASSWORD=the-operators-own\n"
    assert "the-operators-own" not in (staged / k8s_render.DEV_SECRETS_FILE).read_text()
    assert folders(staged) == folders(K8S)


def test_every_variant_is_named_once_and_combinations_repeat_the_namespace() -> None:
    found = k8s_render.variants()
    names = [v.name for v in found]
    assert len(names) == len(set(names))
    assert {v.overlay for v in found} == {"dev", "staging", "prod"}
    combination = k8s_render.variant("prod-sealed-secrets")
    assert (combination.overlay, combination.components) == ("prod", ("sealed-secrets",))
    for item in k8s_render.shipped():
        text = (paths.K8S / item.directory / "kustomization.yaml").read_text()
        assert f"namespace: {item.namespace}\n" in text, item.name
        assert f"  - ../../overlays/{item.overlay}\n" in text
        assert all(f"  - ../../components/{c}\n" in text for c in item.components)
    # Only the overlays whose Secret comes from a component are incomplete on their own.
    assert [v.name for v in found if not v.complete] == ["prod", "staging"]


def test_throwaway_secrets_cover_every_generated_secret() -> None:
    lines = [
        line for line in k8s_render.throwaway_secrets().splitlines() if line and not line.startswith("#")
    ]
    assert [line.split("=", 1)[0] for line in lines] == list(k8s_render.SECRET_KEYS)
    assert all(len(line.split("=", 1)[1]) >= 16 for line in lines)
    assert k8s_render.throwaway_secrets() != k8s_render.throwaway_secrets()


def test_renders_run_side_by_side_and_the_first_failure_in_order_is_named(tmp_path: Path) -> None:
    """A stand-in kubectl that fails for the prod overlay and the staging one, slowest first."""
    kubectl = tmp_path / "kubectl"
    kubectl.write_text('#!/bin/sh\ncase "$2" in\n'
                       '  */overlays/prod) sleep 0.3; echo "prod broke" >&2; exit 1;;\n'
                       '  */overlays/staging) echo "staging broke" >&2; exit 1;;\nesac\n'
                       'printf "kind: ConfigMap\\nname: %s\\n" "$(basename "$2")"\n')
    kubectl.chmod(0o755)
    first = r"^prod: kubectl kustomize .*/overlays/prod failed: prod broke$"
    with pytest.raises(k8s_render.RenderError, match=first):
        k8s_render.render_variants(K8S, tmp_path / "out", kubectl=str(kubectl))
    assert not list((tmp_path / "out").glob("*.yaml"))
    chosen = [k8s_render.variant("dev"), k8s_render.variant("staging-local")]
    written = k8s_render.render_variants(K8S, tmp_path / "out", chosen, kubectl=str(kubectl))
    assert [path.read_text() for path in written.values()] == ["kind: ConfigMap\nname: dev\n",
                                                                "kind: ConfigMap\nname: staging-local\n"]
