"""Board and FPGA power of an Alveo card, read from sysfs while a benchmark runs.

As in the reference's ``synth_bench_power.py``: board power = 12V AUX + 12V PEX rails, FPGA
power = VCCINT; each rail's power is voltage x current. Two sysfs sources are understood,
tried in order under a ``sysfs`` root (default ``/sys``; tests pass a fake tree):

1. XRT's XMC sub-device: ``bus/pci/devices/<bdf>/xmc.*/xmc_<rail>_vol`` (mV) and
   ``xmc_<rail>_curr`` (mA) for rail in ``12v_aux``, ``12v_pex``, ``vccint``;
2. hwmon (PMBus): ``class/hwmon/hwmon*/`` with ``inN_label``/``inN_input`` (mV) and
   ``currN_label``/``currN_input`` (mA), labels such as "12V AUX" / "vccint" (case, spaces,
   dashes and a trailing "voltage"/"current" ignored).

``find_rails(sysfs, bdf)`` returns the three rails or None (then power is "not measured").
``PowerSampler(rails, interval=0.1)`` samples them on a thread; ``window(t0, t1)`` averages
the samples taken between two ``time.monotonic()`` stamps.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BOARD_RAILS = ("12v_aux", "12v_pex")
FPGA_RAILS = ("vccint",)
RAILS = BOARD_RAILS + FPGA_RAILS


@dataclass(frozen=True)
class Rail:
    """One supply rail: files holding millivolts and milliamps."""

    name: str
    voltage: Path
    current: Path

    def watts(self) -> float:
        millivolts = float(self.voltage.read_text().split()[0])
        milliamps = float(self.current.read_text().split()[0])
        return millivolts * milliamps * 1e-6


@dataclass(frozen=True)
class PowerSample:
    t: float  # time.monotonic()
    board_w: float
    fpga_w: float


def find_rails(sysfs: str | Path = "/sys", bdf: str | None = None) -> dict[str, Rail] | None:
    """The board and FPGA rails of the card at PCI address ``bdf`` (any card when None)."""
    root = Path(sysfs)
    return _xmc_rails(root, bdf) or _hwmon_rails(root)


def _xmc_rails(root: Path, bdf: str | None) -> dict[str, Rail] | None:
    pattern = f"bus/pci/devices/{bdf or '*'}/xmc.*"
    for folder in sorted(root.glob(pattern)):
        rails = {r: Rail(r, folder / f"xmc_{r}_vol", folder / f"xmc_{r}_curr") for r in RAILS}
        if all(r.voltage.is_file() and r.current.is_file() for r in rails.values()):
            return rails
    return None


def _norm(label: str) -> str:
    text = re.sub(r"[\s\-]+", "_", label.strip().lower())
    return re.sub(r"_(voltage|current|vol|curr)$", "", text)


def _hwmon_rails(root: Path) -> dict[str, Rail] | None:
    for folder in sorted(root.glob("class/hwmon/hwmon*")):
        volts = _labelled(folder, "in")
        amps = _labelled(folder, "curr")
        rails = {r: Rail(r, volts[r], amps[r]) for r in RAILS if r in volts and r in amps}
        if len(rails) == len(RAILS):
            return rails
    return None


def _labelled(folder: Path, kind: str) -> dict[str, Path]:
    found = {}
    for label in folder.glob(f"{kind}*_label"):
        value = label.with_name(label.name.replace("_label", "_input"))
        if value.is_file():
            found[_norm(label.read_text())] = value
    return found


def read_power(rails: dict[str, Rail]) -> tuple[float, float]:
    """(board watts, FPGA watts) now."""
    board = sum(rails[r].watts() for r in BOARD_RAILS)
    fpga = sum(rails[r].watts() for r in FPGA_RAILS)
    return board, fpga


class PowerSampler:
    """Samples ``read_power`` every ``interval`` seconds on a daemon thread."""

    def __init__(self, rails: dict[str, Rail], interval: float = 0.1) -> None:
        self.rails, self.interval = rails, interval
        self.samples: list[PowerSample] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def sample(self) -> PowerSample:
        board, fpga = read_power(self.rails)
        s = PowerSample(time.monotonic(), board, fpga)
        with self._lock:
            self.samples.append(s)
        return s

    def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, ValueError, IndexError):
                self.sample()  # a rail file mid-update is skipped; the next tick reads it
            self._stop.wait(self.interval)

    def start(self) -> PowerSampler:
        if self._thread is not None:
            raise RuntimeError("PowerSampler already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="alveoflow-power", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def __enter__(self) -> PowerSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def window(self, t0: float, t1: float) -> tuple[float, float] | None:
        """Mean (board W, FPGA W) of the samples in [t0, t1]; None when there are none."""
        with self._lock:
            picked = [s for s in self.samples if t0 <= s.t <= t1]
        if not picked:
            return None
        n = len(picked)
        return sum(s.board_w for s in picked) / n, sum(s.fpga_w for s in picked) / n
