#!/usr/bin/env python3
"""Checks a `neighbormae export` folder against timm: loads model.safetensors into
timm.models.vision_transformer.VisionTransformer with strict=True, runs forward_features on the
reference tiles and compares with the features our Swift encoder wrote for the same tiles.

    scripts/check-export EXPORT_DIR                  # via the wrapper (TORCH_PYTHON picks the venv)
    python scripts/check_export.py EXPORT_DIR [--atol 1e-4]

Exit status: 0 when timm (float32) agrees with ours within --atol, 1 when it does not, 2 when the folder
or the Python environment cannot be used. Needs torch (CPU is enough), timm and safetensors.
"""

import argparse
import json
import os
import sys
from functools import partial

# Features are after the final LayerNorm, so every row has mean 0 and std 1 before the affine (learned
# gamma/beta of order 1): absolute errors are on a fixed O(1) scale. Both sides compute in float32 with
# different summation orders (our blocked SIMD GEMM and attention vs PyTorch's kernels). On the CPU preset
# (D = 192, 4 blocks, features up to |4.8|) we measured max |difference| 1.7e-6, and both float32 forwards
# are 1.6e-6 from a float64 timm forward: the difference is float32 rounding, not a model mismatch. 1e-4
# leaves ~60x headroom for the rounding of deeper or wider models and still fails at once on a layout
# mistake: a patch embedding packed [D, p, p, C] instead of [D, C, p, p] gave 3.5 on the same tiles.
DEFAULT_ATOL = 1e-4

# Elementwise relative errors blow up where a feature is near 0, so they are reported against
# max(|ours|, REL_FLOOR), and a normwise figure ||timm - ours|| / ||ours|| is printed beside them.
REL_FLOOR = 1e-2

EXPECTED_FORMAT = "neighbormae-timm-export"
EXPECTED_VERSION = 1


def fail_setup(message):
    print(f"[check-export] {message}", file=sys.stderr)
    sys.exit(2)


def import_torch_and_timm():
    try:
        import torch
        import timm
    except ModuleNotFoundError as error:
        fail_setup(f"{error}; hint: pip install timm safetensors into a Python with torch "
                   "(TORCH_PYTHON selects it)")
    except RuntimeError as error:
        if "torchvision::nms" in str(error):
            fail_setup(f"importing timm failed inside torchvision ({error}); hint: torchvision's compiled ops "
                       "do not match the installed torch (e.g. a CUDA torchvision wheel with a CPU torch); "
                       "install the torchvision build that matches torch")
        raise
    return torch, timm


def read_export(folder):
    config_path = os.path.join(folder, "config.json")
    try:
        with open(config_path) as f:
            config = json.load(f)
    except OSError as error:
        fail_setup(f"cannot read {config_path}: {error}; hint: give the folder `neighbormae export --out` wrote")
    if config.get("format") != EXPECTED_FORMAT or config.get("format_version") != EXPECTED_VERSION:
        fail_setup(f"{config_path}: format {config.get('format')!r} version {config.get('format_version')!r}, "
                   f"expected {EXPECTED_FORMAT!r} version {EXPECTED_VERSION}")
    reference = config["files"].get("reference")
    if reference is None:
        fail_setup("the export has no reference tiles; hint: export again without --reference-tiles 0")
    return config, os.path.join(folder, config["files"]["model"]), os.path.join(folder, reference)


def build_model(torch, config, dtype):
    from timm.models.vision_transformer import VisionTransformer
    model = VisionTransformer(**config["model_args"],
                              norm_layer=partial(torch.nn.LayerNorm, eps=config["layer_norm_eps"]))
    return model.to(dtype).eval()


def compare(ours, theirs):
    """(max abs, max elementwise rel against max(|ours|, REL_FLOOR), normwise rel) as floats."""
    difference = (theirs.double() - ours.double()).abs()
    scale = ours.double().abs().clamp_min(REL_FLOOR)
    normwise = difference.norm() / ours.double().norm()
    return difference.max().item(), (difference / scale).max().item(), normwise.item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export_dir", help="folder written by `neighbormae export --out`")
    parser.add_argument("--atol", type=float, default=DEFAULT_ATOL,
                        help=f"max |timm - ours| allowed on the float32 features (default {DEFAULT_ATOL})")
    args = parser.parse_args()

    config, model_path, reference_path = read_export(args.export_dir)
    torch, timm = import_torch_and_timm()
    from safetensors import safe_open
    from safetensors.torch import load_file

    state = load_file(model_path)
    with safe_open(model_path, framework="pt") as f:
        metadata = f.metadata() or {}
    if json.loads(metadata.get("model_args", "null")) != config["model_args"]:
        fail_setup("model_args in model.safetensors and config.json differ; the folder is inconsistent")
    reference = load_file(reference_path)
    images, ours = reference["images"], reference["features"]

    model = build_model(torch, config, torch.float32)
    model.load_state_dict(state, strict=True)      # raises on any missing, unexpected or mis-shaped tensor
    args_text = ", ".join(f"{k}={v}" for k, v in sorted(config["model_args"].items()))
    print(f"[check-export] torch {torch.__version__}, timm {timm.__version__}")
    print(f"[check-export] VisionTransformer({args_text}, eps={config['layer_norm_eps']}): "
          f"{sum(p.numel() for p in model.parameters())} parameters, state dict loaded strict")
    print(f"[check-export] source {config['source']['checkpoint']} (step {config['source']['step']})")

    expected_input = [images.shape[0]] + config["input"]["shape"]
    if list(images.shape) != expected_input:
        fail_setup(f"reference images {list(images.shape)}, config.json says {expected_input}")
    with torch.no_grad():
        theirs = model.forward_features(images)
        pooled = model(images)                     # global_pool "token": the cls row of forward_features
        exact = build_model(torch, config, torch.float64)
        exact.load_state_dict({k: v.double() for k, v in state.items()}, strict=True)
        reference64 = exact.forward_features(images.double())
    if theirs.shape != ours.shape:
        print(f"[check-export] FAIL: timm features {list(theirs.shape)}, ours {list(ours.shape)}")
        return 1

    n, tokens, width = ours.shape
    print(f"[check-export] {n} reference tiles {list(images.shape[1:])}, features [{n}, {tokens}, {width}], "
          f"max |ours| {ours.abs().max().item():.3g}")
    worst_abs, worst_rel, normwise = compare(ours, theirs)
    print(f"[check-export] timm float32 vs ours: max abs {worst_abs:.3e}, max rel {worst_rel:.3e} "
          f"(|diff| / max(|ours|, {REL_FLOOR:g})), normwise rel {normwise:.3e}")
    cls_abs, _, _ = compare(ours[:, 0], pooled)
    print(f"[check-export] pooled cls (model(x)) vs ours row 0: max abs {cls_abs:.3e}")
    ours64 = compare(ours, reference64)
    timm64 = compare(theirs, reference64)
    print(f"[check-export] vs timm float64: ours max abs {ours64[0]:.3e}, timm float32 max abs {timm64[0]:.3e}")
    worst = max(worst_abs, cls_abs)
    if not worst <= args.atol:                     # also catches NaN
        print(f"[check-export] FAIL: max abs {worst:.3e} > atol {args.atol:g}")
        return 1
    print(f"[check-export] ok: max abs {worst:.3e} <= atol {args.atol:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
