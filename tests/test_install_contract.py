"""Install = run: what the runtime code imports is declared, ``opentutor`` works with the
base dependencies alone, and a server without its web client refuses to start.

The throw-away-virtualenv guard (``tests/install/``) proves the same from a clean copy of
the tree; these run in the main suite in a second and say *which* import is at fault.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_PACKAGES = ("rtc", "signaling", "recorder")
FIRST_PARTY = {"rtc", "signaling", "recorder", "bench", "tests"}
# Installed by the test/bench extras only: the runtime must never need them.
EXTRAS_ONLY = ("numpy", "matplotlib", "psutil", "pytest", "hypothesis", "playwright")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0].strip().lower().replace("_", "-")
        for spec in project["dependencies"]
    }


def test_every_runtime_import_is_a_declared_dependency() -> None:
    declared = _declared_distributions()
    providers = importlib.metadata.packages_distributions()
    undeclared: dict[str, list[str]] = {}
    for package in RUNTIME_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for module in _imported_modules(path):
                if module in sys.stdlib_module_names or module in FIRST_PARTY:
                    continue
                dists = {d.lower().replace("_", "-") for d in providers.get(module, [module])}
                if not dists & declared:
                    undeclared.setdefault(module, []).append(str(path.relative_to(ROOT)))
    assert not undeclared, f"imported at runtime but not in [project] dependencies: {undeclared}"


# Runs the CLI with the extras' packages made unimportable, as on `pip install .` alone.
_WITHOUT_EXTRAS = """
import sys
blocked = {blocked!r}
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)")
        return None
sys.meta_path.insert(0, Block())
from signaling.server.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["serve", "--help"],
        ["credits", "--help"],
        ["credits", "session", "--help"],
        ["recording", "export", "--help"],
        ["recording", "purge", "--dry-run", "--data-dir", "{data}"],
    ],
    ids=lambda argv: " ".join(a for a in argv if a != "{data}"),
)
def test_every_subcommand_runs_without_the_extras(argv: list[str], tmp_path: Path) -> None:
    # numpy is declared, yet blocked too: only running an export may load it.
    code = _WITHOUT_EXTRAS.format(blocked=sorted(EXTRAS_ONLY))
    args = [a.replace("{data}", str(tmp_path / "data")) for a in argv]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "ModuleNotFoundError" not in done.stderr


def test_serve_refuses_to_start_without_the_web_packages(tmp_path: Path) -> None:
    web = tmp_path / "web"
    shutil.copytree(ROOT / "web", web, ignore=shutil.ignore_patterns("node_modules"))
    done = subprocess.run(
        [sys.executable, "-m", "signaling.server.cli", "serve", "--port", "0", "--no-demo",
         "--data-dir", str(tmp_path / "data"), "--web-dir", str(web)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert f"npm ci --prefix {web}" in done.stderr
    assert "Traceback" not in done.stderr
