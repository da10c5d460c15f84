"""``alveoflow verify``: a build against its model, code for code, on the user's own data.

``alveoflow verify BUILD --model CKPT|ONNX --data DIR|NPY [--backend sim|cppsim|rtlsim]`` runs
three things on the same inputs:

- the build on ``--backend`` (its logits must equal the build's own reference, the lowered
  graph run by the bit-exact sim, code for code);
- the QONNX graph in float64 (the compiler's frontend graph, ``compiler.semantics``): every
  quantizer's codes are compared with the build's (``runtime.verify.compare_codes``), and each
  difference is classed as on a rounding tie or not;
- Brevitas' own float32 forward, for a checkpoint of an ``alveoflow.qnn`` model (an ONNX file
  has no Brevitas module: that column is skipped and the report says so).

It prints top-1/top-5 agreement of the build with both, the quantizers whose codes differ
(and the first one, in graph order), how many frames agree exactly, differ only from a tie
onwards, or differ for real, and warns when many quantizer outputs sit on ties (scales that
look uncalibrated). Exit code 0: the build agrees (up to ties); 1: a real mismatch; 2: bad
input (one-line error).

``--data``: a ``.npy`` of inputs as the model takes them (float NCHW / (N, F); a pixel build
also takes uint8 NHWC pixels), or a folder of class sub-folders of images (resized and
centre-cropped to the model's input, as pixels 0..255 for pixel models, else scaled as the
checkpoint's config says).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

EXIT_MISMATCH = 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check a build against its model, code for code, on your own data",
        description=(
            "Run BUILD_DIR on --backend, the model's QONNX graph in float64 and (for an "
            "alveoflow checkpoint) Brevitas' float32 forward on the same inputs. Reports top-1 "
            "and top-5 agreement, the quantized tensors whose codes differ (the first one in "
            "graph order), whether each difference sits on a rounding tie, and warns when many "
            "values sit on ties (uncalibrated scales). --data is a .npy of what the model "
            "takes, or a folder of class sub-folders of images. Exit code 0: the build agrees "
            "(up to ties); 1: a real mismatch; 2: bad input."
        ),
    )
    parser.add_argument("build_dir", type=Path, help="build directory (has manifest.json)")
    parser.add_argument(
        "--model",
        type=Path,
        required=True,
        help="the model: an alveoflow checkpoint (.pt) or the QONNX file (.onnx) compiled",
    )
    parser.add_argument(
        "--data", type=Path, required=True, help="inputs: a .npy file or an image folder"
    )
    parser.add_argument(
        "--backend", default="sim", help="what runs the build: sim (default), cppsim, rtlsim"
    )
    parser.add_argument("--limit", type=int, default=64, help="inputs to check (default 64)")
    parser.add_argument("--batch-size", type=int, default=8, help="inputs per step (default 8)")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from alveoflow.commands.files import check_writable
    from alveoflow.errors import ConfigError
    from alveoflow.runtime.module import AlveoModule

    for name in ("limit", "batch_size"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.json is not None:
        check_writable(args.json, "--json")
    with AlveoModule(args.build_dir, args.backend, sim_device="cpu") as module:
        model = load_model(args.model, module)
        x, labels = load_data(args.data, module, model, args.limit)
        report = verify(module, model, x, labels, args.batch_size)
    _print(report)
    if args.json is not None:
        from alveoflow.commands.files import write_atomic

        write_atomic(args.json, (json.dumps(report, indent=1) + "\n").encode())
    return EXIT_MISMATCH if report["verdict"] == "mismatch" else 0


# -- the model --------------------------------------------------------------------------------


class Model:
    """The source graph (float64) and, for a checkpoint, the Brevitas module."""

    def __init__(self, source: Any, brevitas: Any, note: str, config: Any = None) -> None:
        self.source, self.brevitas, self.note, self.config = source, brevitas, note, config


def load_model(path: Path, module: Any) -> Model:
    from alveoflow.compiler.buildfmt import sha256_file
    from alveoflow.compiler.config import InputQuant
    from alveoflow.errors import ConfigError

    if not path.is_file():
        raise ConfigError(f"--model {path}: no such file (a .pt checkpoint or a .onnx file)")
    text = (module.build.manifest.raw.get("config") or {}).get("input_quant")
    grid = InputQuant.parse(text) if text else None
    if path.suffix.lower() == ".onnx":
        same = sha256_file(path) == (module.build.manifest.raw.get("hashes") or {}).get("source")
        note = "the file the build was compiled from" if same else "NOT the file compiled"
        source = _read_onnx(path, grid)
        return Model(source, None, f"{path.name} ({note}); Brevitas float32: skipped (ONNX)")
    return _checkpoint_model(path, grid)


def _read_onnx(path: Path, grid: Any) -> Any:
    from alveoflow.compiler.frontend import from_qonnx
    from alveoflow.errors import AlveoflowError, ConfigError

    try:
        return from_qonnx(path, input_quant=grid)
    except AlveoflowError:
        raise
    except Exception as err:  # noqa: BLE001 - onnx/protobuf decode errors of a bad file
        raise ConfigError(f"--model {path}: not a readable ONNX model ({err})") from None


def _checkpoint_model(path: Path, grid: Any) -> Model:
    from alveoflow.export import to_qonnx
    from alveoflow.qnn import load_checkpoint

    model = load_checkpoint(path).eval()
    config = model.config
    shape = (1, config.in_channels, config.input_size, config.input_size)
    with tempfile.TemporaryDirectory(prefix="alveoflow-verify-") as tmp:
        onnx_path = to_qonnx(
            model, Path(tmp) / "model.onnx", shape, "UINT8" if config.pixel_input else None
        )
        source = _read_onnx(onnx_path, grid)
    return Model(source, model, f"{path.name} (checkpoint, exported as compile does)", config)


# -- the data ---------------------------------------------------------------------------------


def load_data(path: Path, module: Any, model: Model, limit: int) -> tuple[Any, Any]:
    """(inputs as the model takes them, float32, at most ``limit``; labels or None)."""
    import numpy as np

    from alveoflow.errors import ConfigError

    spec = module.input_spec
    if path.is_dir():
        x, labels = _image_folder(path, spec, model, limit)
    else:
        from alveoflow.commands.files import load_npy

        x, labels = load_npy(path, "--data")[:limit], None
    if x.dtype.kind in "iu" and tuple(x.shape[1:]) == spec.card_frame != spec.model_frame:
        x = x.transpose(0, 3, 1, 2) if x.ndim == 4 else x  # uint8 NHWC pixels -> NCHW
    if tuple(x.shape[1:]) != spec.model_frame or x.dtype.kind not in "iuf":
        raise ConfigError(
            f"--data {path}: inputs are {x.dtype.name}{list(x.shape)}, the model takes "
            f"float (N, {', '.join(map(str, spec.model_frame))})"
        )
    return np.ascontiguousarray(x, dtype=np.float32), labels


def _image_folder(path: Path, spec: Any, model: Model, limit: int) -> tuple[Any, Any]:
    from alveoflow.data import ImageFolderDataset, stack_batch
    from alveoflow.data.transforms import Normalize, eval_transform
    from alveoflow.errors import ConfigError

    if len(spec.model_frame) != 3:
        raise ConfigError(f"--data {path}: an image folder needs an image model")
    channels, size = spec.model_frame[0], spec.model_frame[1]
    if spec.stage.kind == "pixels":
        scale, normalize = 1.0, None
    elif model.config is not None:
        mean = [m / 255.0 for m in model.config.pixel_mean]
        scale, normalize = 1.0 / 255.0, Normalize(mean, [model.config.pixel_std / 255.0] * channels)
    else:
        raise ConfigError(
            f"--data {path}: how to scale images for this float-input ONNX model is unknown; "
            "pass a .npy of model inputs, or the checkpoint"
        )
    tf = eval_transform(size, round(size * 8 / 7), scale=scale, normalize=normalize)
    data = ImageFolderDataset(path, tf, "L" if channels == 1 else "RGB")
    if len(data) == 0:
        raise ConfigError(f"--data {path}: no images found")
    images, labels = stack_batch(data, list(range(min(limit, len(data)))))
    return images.numpy(), labels.numpy()


# -- running ----------------------------------------------------------------------------------


def verify(module: Any, model: Model, x: Any, labels: Any, batch: int) -> dict[str, Any]:
    import numpy as np

    from alveoflow.runtime.verify import compare_codes

    total, backend_frames, brevitas = None, [], []
    for first in range(0, x.shape[0], batch):
        xb = x[first : first + batch]
        cmp = compare_codes(model.source, module.build.graph, xb)
        logits = _logits(module, xb)
        backend_frames += [first + int(i) for i in np.flatnonzero(_rows_differ(logits, cmp))]
        if model.brevitas is not None:
            brevitas.append(_brevitas_logits(model.brevitas, xb))
        if total is None:
            total = cmp
        else:
            total.merge(cmp)
    assert total is not None
    return _report(module, model, total, backend_frames, brevitas, labels)


def _logits(module: Any, xb: Any) -> Any:
    plan = module.build.plan
    stage = plan.output("logits")
    if stage is None:
        from alveoflow.errors import ConfigError

        raise ConfigError("this build has no logits output to verify")
    return module.run_numpy(xb)[stage.name]


def _rows_differ(logits: Any, cmp: Any) -> Any:
    return (logits != cmp.hw_logits[-1]).any(axis=1)


def _brevitas_logits(model: Any, xb: Any) -> Any:
    import torch

    with torch.no_grad():
        return model(torch.from_numpy(xb)).numpy()


def _agreement(a: Any, b: Any) -> dict[str, float]:
    import numpy as np

    from alveoflow.runtime.packing import topk_indices

    k = min(5, a.shape[1])
    top1 = float(np.mean(a.argmax(1) == b.argmax(1)))
    same_k = np.sort(topk_indices(a, k), axis=1) == np.sort(topk_indices(b, k), axis=1)
    return {"top1": top1, f"top{k}": float(np.mean(same_k.all(axis=1)))}


def _report(
    module: Any, model: Model, cmp: Any, backend_frames: list[int], brevitas: list[Any], labels: Any
) -> dict[str, Any]:
    import numpy as np

    from alveoflow.runtime.verify import looks_uncalibrated

    hw, ref = np.concatenate(cmp.hw_logits), np.concatenate(cmp.ref_logits)
    on_tie = sum(t.ties for t in cmp.tensors)
    elements = sum(t.elements for t in cmp.tensors)
    report: dict[str, Any] = {
        "build": str(module.build_dir),
        "backend": module.backend_name,
        "model": model.note,
        "frames": cmp.frames,
        "backend_vs_build_reference": {"frames_differ": backend_frames},
        "vs_float64": {**_agreement(hw, ref), "max_abs_logit_diff": float(np.abs(hw - ref).max())},
        "vs_brevitas_float32": _agreement(hw, np.concatenate(brevitas)) if brevitas else None,
        "frames_exact": cmp.exact_frames,
        "frames_tie_only": cmp.tie_frames,
        "frames_real_mismatch": cmp.real_frames,
        "first_tensor_differing": cmp.first_tensor,
        "tensors": [vars(t) for t in cmp.tensors],
        "ties": {"on_tie": on_tie, "elements": elements},
        "uncalibrated": looks_uncalibrated(on_tie, elements),
    }
    if labels is not None:
        report["accuracy"] = {"build": float(np.mean(hw.argmax(1) == labels))}
    report["verdict"] = _verdict(cmp, backend_frames)
    return report


def _verdict(cmp: Any, backend_frames: list[int]) -> str:
    if cmp.real_frames or backend_frames:
        return "mismatch"
    return "exact" if cmp.exact_frames == cmp.frames else "ties"


def _print(report: dict[str, Any]) -> None:
    out = sys.stdout
    print(f"{report['build']} on {report['backend']}, {report['frames']} inputs", file=out)
    print(f"model: {report['model']}", file=out)
    f64 = report["vs_float64"]
    print(f"vs float64 QONNX graph: {_pct(f64)}, max |logit diff| {f64['max_abs_logit_diff']:.3g}")
    b32 = report["vs_brevitas_float32"]
    print(f"vs Brevitas float32:    {_pct(b32) if b32 else 'skipped (no Brevitas module)'}")
    bad = report["backend_vs_build_reference"]["frames_differ"]
    print(
        f"backend vs the build's reference: {'equal' if not bad else f'{len(bad)} frames differ'}"
    )
    print(
        f"frames: {report['frames_exact']} exact, {report['frames_tie_only']} differ from a "
        f"rounding tie on, {len(report['frames_real_mismatch'])} differ for real"
    )
    differing = [t for t in report["tensors"] if t["differ"]]
    if differing:
        print(f"first tensor that differs: {report['first_tensor_differing']}")
        for t in differing:
            print(
                f"  {t['name']:<40} {t['differ']:>8} of {t['elements']} codes differ, "
                f"{t['on_tie']} on ties (first at {t['first_index']})"
            )
    else:
        print(f"codes: all {len(report['tensors'])} quantized tensors agree")
    ties = report["ties"]
    if report["uncalibrated"]:
        print(
            f"warning: {ties['on_tie']} of {ties['elements']} quantizer outputs sit on a "
            "rounding tie: the scales look uncalibrated (calibrate or train the model)",
            file=sys.stderr,
        )
    print(f"verdict: {report['verdict']}")


def _pct(agreement: dict[str, float]) -> str:
    return ", ".join(f"{k} {100 * v:.1f}%" for k, v in agreement.items() if k.startswith("top"))
