"""An installed copy of the project (a wheel, as `pip install .` and the Docker images make) carries
every file the app reads at run time: the page's stylesheet, logo, icons and examples, the
evaluation mini set, the database migrations and the training configs.

A development checkout finds such files beside the code whether or not they are packaged, so only
a real wheel, installed away from the checkout, can show one missing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHECK = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import longwriter
    import training
    import ui.common
    from longwriter.evaluation.data import load_items
    from longwriter.store import Store
    from ui.write.tab import load_examples

    site = Path(sys.argv[1]).resolve()
    assert Path(longwriter.__file__).resolve().is_relative_to(site), longwriter.__file__  # not the checkout
    for name in ("style.css", "logo.svg", "thumb-up.svg", "thumb-down.svg", "examples.json"):
        assert (ui.common.ASSETS / name).is_file(), name
    assert load_examples(), "examples"
    assert len(load_items("mini")[0]) == 12, "mini set"
    Store(f"sqlite:///{sys.argv[2]}/installed.db").close()  # every migration ran
    assert any((Path(training.__file__).parent / "configs").glob("*.yaml")), "training configs"
    print("ok")
    """
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built into a wheel from a clean copy (setuptools would reuse a stale ``build/``
    in the checkout) and installed into a folder of its own, without dependencies."""
    source, wheels, site = (tmp_path_factory.mktemp(name) for name in ("source", "wheels", "site"))
    skip = shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__", "test-artifacts", "runs", "data")
    shutil.copytree(ROOT, source, ignore=skip, dirs_exist_ok=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)], check=True)
    (wheel,) = wheels.glob("*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    return site


def test_an_installed_wheel_has_every_file_the_app_reads(installed: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK, str(installed), str(tmp_path)],
        check=False,
        cwd=tmp_path,  # away from the checkout, whose folders would otherwise be found first
        env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]
