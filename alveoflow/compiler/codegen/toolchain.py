"""The Xilinx tools: where they are (read here and nowhere else) and running the build.

``find_tools(env)`` looks for ``vitis_hls``, ``vivado`` and ``v++`` on ``PATH`` and in the
``bin`` folders of ``$XILINX_HLS``, ``$XILINX_VIVADO`` and ``$XILINX_VITIS`` (set by Xilinx's
``settings64.sh``). ``require_tools`` raises ``ToolchainError`` listing what was generated and
the exact command to run on a machine that has the tools. ``run_make`` runs the generated
Makefile with a progress bar over the HLS IPs and a log file; a failure raises
``ToolchainError`` with the log and its last lines.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from alveoflow.errors import ToolchainError

TOOLS = {"vitis_hls": "XILINX_HLS", "vivado": "XILINX_VIVADO", "v++": "XILINX_VITIS"}
MAKE_VARS = {"vitis_hls": "VITIS_HLS", "vivado": "VIVADO", "v++": "VPP"}


def find_tools(env: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Absolute path of each Xilinx tool, or None when it is not installed."""
    env = os.environ if env is None else env
    found: dict[str, str | None] = {}
    for tool, root_var in TOOLS.items():
        path = shutil.which(tool, path=env.get("PATH"))
        root = env.get(root_var)
        if path is None and root:
            path = shutil.which(tool, path=str(Path(root) / "bin"))
        found[tool] = path
    return found


def make_command(build_dir: Path, jobs: int, platform_shell: str, target: str = "all") -> str:
    return f"cd {build_dir} && make -j{jobs} {target} PLATFORM={platform_shell}"


def require_tools(
    tools: Mapping[str, str | None],
    build_dir: Path,
    generated: Sequence[str],
    jobs: int,
    shell: str,
) -> dict[str, str]:
    missing = [t for t, p in tools.items() if p is None]
    if not missing:
        return {t: str(p) for t, p in tools.items()}
    listing = "\n".join(f"    {name}" for name in generated)
    raise ToolchainError(
        f"the Xilinx tools {', '.join(missing)} were not found (looked on PATH and in "
        f"$XILINX_HLS/$XILINX_VIVADO/$XILINX_VITIS/bin), so nothing was synthesised.\n"
        f"  Generated in {build_dir} ({len(generated)} files):\n{listing}\n"
        f"  On a machine with Vitis 2022.1 or newer (after `source <Vitis>/settings64.sh`) run:\n"
        f"    {make_command(build_dir, jobs, shell)}"
    )


def run_make(
    build_dir: Path,
    tools: Mapping[str, str],
    ips: Sequence[str],
    jobs: int,
    shell: str,
    target: str = "all",
) -> Path:
    """Run make in ``build_dir`` with progress over the IPs; returns the log path."""
    from tqdm import tqdm

    logs = build_dir / "logs"
    logs.mkdir(exist_ok=True)
    log_path = logs / "make.log"
    overrides = [f"{MAKE_VARS[t]}={p}" for t, p in sorted(tools.items())]
    cmd = ["make", f"-j{jobs}", target, f"PLATFORM={shell}", f"JOBS={jobs}", *overrides]
    done = [
        build_dir / "hls" / f"proj_{ip}" / "sol1" / "impl" / "ip" / "component.xml" for ip in ips
    ]
    with open(log_path, "w") as log, tqdm(total=len(ips), desc="HLS IPs", unit="ip") as bar:
        proc = subprocess.Popen(cmd, cwd=build_dir, stdout=log, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            time.sleep(2.0)
            bar.n = sum(p.is_file() for p in done)
            bar.refresh()
    if proc.returncode != 0:
        tail = "\n".join(log_path.read_text().splitlines()[-20:])
        raise ToolchainError(
            f"`{' '.join(cmd)}` failed (exit {proc.returncode})", str(log_path), tail
        )
    return log_path
