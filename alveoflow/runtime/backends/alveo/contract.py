"""The kernel's calling contract as the build describes it to Vitis: ``kernel.xml`` and
``link.cfg``, read independently of the manifest.

``read_contract(build)`` parses the build's ``kernel.xml`` (the kernel's arguments: name,
id, buffer or scalar, AXI port, register offset and size) and the ``sp=`` lines of
``link/link.cfg`` (which memory each AXI port is connected to), and checks that the
manifest's ``card.kernel_args`` (what the host calls with) say the same: same names in the
same order, same kinds, ports and offsets, and the banks the host allocates in are the
memories the ports are linked to. A disagreement is a ``DeviceError`` naming the argument:
on a card the first call would fail. The emulated card takes the contract as the truth.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alveoflow.compiler.buildfmt import verified
from alveoflow.errors import DeviceError

LINK_CFG = "link/link.cfg"
_SP = re.compile(r"^sp=([\w]+)\.m_axi_(\w+):(\S+)$")


@dataclass(frozen=True)
class XmlArg:
    name: str
    index: int
    scalar: bool
    port: str  # m_axi bundle ("gmem0"), "" for a scalar
    offset: int
    size: int


@dataclass(frozen=True)
class KernelContract:
    kernel: str
    args: tuple[XmlArg, ...]
    port_memory: dict[str, str] = field(default_factory=dict)  # bundle -> "DDR[0]"

    def bank(self, arg: XmlArg) -> str:
        """The PYNQ memory a buffer argument must live in (``DDR[1]`` -> ``bank1``)."""
        memory = self.port_memory.get(arg.port)
        if memory is None:
            raise DeviceError(f"link.cfg connects no memory to port m_axi_{arg.port} ({arg.name})")
        kind, _, rest = memory.partition("[")
        index = rest.rstrip("]")
        return f"bank{index}" if kind == "DDR" else f"{kind}{index}"


def parse_kernel_xml(path: Path) -> tuple[str, tuple[XmlArg, ...]]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as err:
        raise DeviceError(f"cannot read {path}: {err}; recompile the build") from None
    kernel = root.find("kernel")
    if kernel is None:
        raise DeviceError(f"{path} declares no kernel")
    args = []
    for arg in kernel.iter("arg"):
        port = arg.get("port", "")
        scalar = arg.get("addressQualifier") == "0"
        args.append(
            XmlArg(
                name=arg.get("name", ""),
                index=int(arg.get("id", "-1")),
                scalar=scalar,
                port="" if scalar else port.removeprefix("m_axi_"),
                offset=int(arg.get("offset", "0"), 16),
                size=int(arg.get("size", "0"), 16),
            )
        )
    args.sort(key=lambda a: a.index)
    return kernel.get("name", ""), tuple(args)


def parse_link_cfg(path: Path) -> dict[str, str]:
    """``{bundle: memory}`` from the ``sp=`` lines of a Vitis link config."""
    out = {}
    for line in path.read_text().splitlines():
        m = _SP.match(line.strip())
        if m:
            out[m.group(2)] = m.group(3)
    return out


def read_contract(build: Any) -> KernelContract:
    """The contract of ``build`` (a ``runtime.build.Build``), checked against its manifest."""
    manifest = build.manifest
    card = manifest.card
    if card is None:
        raise DeviceError(f"{build.dir}: the manifest has no card section")
    rel_xml = card.kernel_xml.relative_to(build.dir).as_posix()
    kernel, args = parse_kernel_xml(verified(manifest, rel_xml))
    contract = KernelContract(kernel, args, parse_link_cfg(verified(manifest, LINK_CFG)))
    _check_manifest(contract, card)
    return contract


def _check_manifest(contract: KernelContract, card: Any) -> None:
    host = [(a.name, a.kind, a.port, a.offset) for a in card.kernel_args]
    xml = [(a.name, "scalar" if a.scalar else "buffer", a.port, a.offset) for a in contract.args]
    if contract.kernel != card.kernel:
        raise DeviceError(f"kernel.xml declares {contract.kernel!r}, the manifest {card.kernel!r}")
    if host != xml:
        raise DeviceError(
            f"the host would call kernel {card.kernel} with arguments {host}, but kernel.xml "
            f"declares {xml}; recompile the build"
        )
    for spec, arg in zip(card.kernel_args, contract.args, strict=True):
        if not arg.scalar and spec.bank != contract.bank(arg):
            raise DeviceError(
                f"argument {arg.name}: the host allocates it in {spec.bank}, but link.cfg "
                f"connects m_axi_{arg.port} to {contract.port_memory.get(arg.port)}"
            )
