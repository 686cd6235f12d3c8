#!/usr/bin/env python3
"""PyTorch CPU peer of one NeighborMAE training step (issue 4, "Performance"), float32.

The same work as `neighbormae-bench step`: CPU preset (T 64, p 8, C 3, encoder 192/4/3, decoder 128/2/4,
mlp 4, mask ratio 0.75 -> 0.85 by IoU, norm-pix, weight kernel 5), B pairs (K = 2, one virtual shard):
zero_grad + forward (encoder over [cls] + n_max tokens per image with a key mask, joint decoder, the
cross-projection and the visibility-weighted loss) + backward + torch.optim.AdamW step.

The layers, position code, cross-projection and loss weights are imported from
scripts/reference/make_fixture.py (the float64 fixture reference); only the attention differs: here it
is F.scaled_dot_product_attention with the boolean key mask, what a PyTorch user would write.

The batch geometry (boxes, IoU, visible counts, ids_shuffle) is drawn from a seeded generator by the crop
recipe of METHOD.md 1.2-1.4 (square source) and can be written to JSON (--write-geometry FILE) so the Swift
benchmark times the identical masks (`neighbormae-bench step --geometry FILE`).

    python scripts/bench/torch_step.py --threads 1,2            # JSON lines: impl, threads, ms_per_step, pairs_per_s
    python scripts/bench/torch_step.py --flops                  # + FLOPs per step (FlopCounterMode, fwd+bwd)
    python scripts/bench/torch_step.py --write-geometry geo.json --threads ''   # only the geometry file
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import make_fixture as ref  # noqa: E402  (sets the default dtype to float64 on import; reset below)

torch.set_default_dtype(torch.float32)

CPU_CONFIG = dict(
    imageSize=64, patchSize=8, channels=3, imagesPerSample=2,
    encoderWidth=192, encoderDepth=4, encoderHeads=3,
    decoderWidth=128, decoderDepth=2, decoderHeads=4, mlpRatio=4,
    maskRatioMin=0.75, maskRatioMax=0.85, normPixLoss=True,
    weightKernel=5, weightEpsilon=1e-8, layerNormEpsilon=1e-6,
)


# MARK: - Geometry (deterministic)

def crop_box(rng):
    """One crop of a square source (METHOD 1.2-1.3): (left, top, right, bottom), y-up, units of H."""
    r = math.exp(rng.uniform(math.log(0.75), math.log(1 / 0.75)))
    a = rng.uniform(0.2, 1.0)
    h = min(math.sqrt(a), 1 / r, 1.0)
    w = h * r
    left = rng.random() * (1 - w)
    top = 1 - rng.random() * (1 - h)
    return [left, top, left + w, top - h]


def pair_frame(boxes):
    """METHOD 1.4: shift min(left), min(bottom) to 0, scale each axis so the union spans [0, 32]^2."""
    x0 = min(b[0] for b in boxes)
    y0 = min(b[3] for b in boxes)
    sx = 32 / (max(b[2] for b in boxes) - x0)
    sy = 32 / (max(b[1] for b in boxes) - y0)
    return [[(b[0] - x0) * sx, (b[1] - y0) * sy, (b[2] - x0) * sx, (b[3] - y0) * sy] for b in boxes]


def iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1], b[1]) - max(a[3], b[3]))
    inter = iw * ih
    area = lambda x: (x[2] - x[0]) * (x[1] - x[3])
    return inter / (area(a) + area(b) - inter)


def make_geometry(cfg, pairs, seed):
    """Boxes [B][2][4] (F32-exact), IoU [B], visible counts [B][2] (half to even), ids_shuffle [B][2][L]."""
    import random
    rng = random.Random(seed)
    _, l, _, _ = ref.sizes(cfg)
    boxes, ious, counts, shuffles = [], [], [], []
    for _ in range(pairs):
        pair = pair_frame([crop_box(rng), crop_box(rng)])
        pair = [[float(torch.tensor(v, dtype=torch.float32)) for v in box] for box in pair]
        overlap = iou(pair[0], pair[1])
        ratio = cfg["maskRatioMin"] + overlap * (cfg["maskRatioMax"] - cfg["maskRatioMin"])
        n = round((1 - ratio) * l)          # Python round: half to even, like the Swift rule
        boxes.append(pair)
        ious.append(overlap)
        counts.append([n, n])
        shuffles.append([rng.sample(range(l), l) for _ in range(2)])
    return dict(pairs=pairs, imagesPerSample=2, patchesPerImage=l, seed=seed, boxes=boxes, iou=ious,
                visibleCounts=counts, idsShuffle=shuffles)


# MARK: - Model (float32; SDPA attention with the key mask)

def attention(x, params, name, heads, key_mask):
    """x [B, S, W]; key_mask [B, S] bool (True = may be attended) or None. qkv per token is [3, H, W/H]."""
    b, s, w = x.shape
    qkv = ref.linear(x, params, name + ".qkv").reshape(b, s, 3, heads, w // heads).permute(2, 0, 3, 1, 4)
    mask = None if key_mask is None else key_mask[:, None, None, :]
    out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=mask)
    return ref.linear(out.transpose(1, 2).reshape(b, s, w), params, name + ".proj")


def block(x, params, name, heads, eps, key_mask):
    x = x + attention(ref.layer_norm(x, params, name + ".norm1", eps), params, name + ".attn", heads, key_mask)
    hidden = F.gelu(ref.linear(ref.layer_norm(x, params, name + ".norm2", eps), params, name + ".mlp.fc1"))
    return x + ref.linear(hidden, params, name + ".mlp.fc2")


def encode(params, cfg, patches, pe_enc, ids_shuffle, len_keep):
    x, key_mask = ref.encoder_tokens(params, cfg, patches, pe_enc, ids_shuffle, len_keep)
    eps = cfg["layerNormEpsilon"]
    for i in range(cfg["encoderDepth"]):
        x = block(x, params, f"blocks.{i}", cfg["encoderHeads"], eps, key_mask)
    return ref.layer_norm(x, params, "norm", eps)


def decode(params, cfg, encoded, pe_dec, ids_shuffle, len_keep):
    """ref.decode with this file's block: pred patches in raster order [B, K, L, P]."""
    b, k, l = ids_shuffle.shape
    _, _, patch_dim, n_max = ref.sizes(cfg)
    e = cfg["decoderWidth"]
    y = ref.linear(encoded, params, "decoder_embed")
    mask_token = params["mask_token"].reshape(1, 1, 1, e)
    slots = torch.cat([y[:, 1:].reshape(b, k, n_max, e), mask_token.expand(b, k, l - n_max, e)], dim=2)
    ranks = torch.arange(l)
    slots = torch.where((ranks[None, None, :] < len_keep[:, :, None])[..., None], slots, mask_token)
    slots = slots + torch.gather(pe_dec, 2, ids_shuffle[..., None].expand(b, k, l, e))
    x = torch.cat([y[:, :1], slots.reshape(b, k * l, e)], dim=1)
    eps = cfg["layerNormEpsilon"]
    for i in range(cfg["decoderDepth"]):
        x = block(x, params, f"decoder_blocks.{i}", cfg["decoderHeads"], eps, None)
    x = ref.layer_norm(x[:, 1:], params, "decoder_norm", eps)
    pred = ref.linear(x, params, "decoder_pred").reshape(b, k, l, patch_dim)
    ids_restore = torch.argsort(ids_shuffle, dim=2)
    return torch.gather(pred, 2, ids_restore[..., None].expand(b, k, l, patch_dim))


def weighted_loss(params, cfg, images, boxes, ids_shuffle, len_keep):
    """ref.forward's computation (cross-projection, smoothed weights), returning L_weighted."""
    p, c = cfg["patchSize"], cfg["channels"]
    grid, _, _, _ = ref.sizes(cfg)
    b, k = images.shape[:2]
    pe_enc = ref.position_embedding(boxes, grid, cfg["encoderWidth"], params["img_embed"])
    pe_dec = ref.position_embedding(boxes, grid, cfg["decoderWidth"], params["decoder_img_embed"])
    encoded = encode(params, cfg, ref.patchify(images, p), pe_enc, ids_shuffle, len_keep)
    pred = ref.unpatchify(decode(params, cfg, encoded, pe_dec, ids_shuffle, len_keep), p, c)
    ranks = torch.argsort(ids_shuffle, dim=2)
    visible = (ranks < len_keep[:, :, None]).reshape(b, k, grid, grid)
    visible = visible.repeat_interleave(p, dim=2).repeat_interleave(p, dim=3)
    mean, var = ref.patch_statistics(images, p)
    target = (images - mean) / torch.sqrt(var + 1e-6)
    e = ((pred - target) ** 2).mean(dim=2)
    image_proj, vis_proj = ref.cross_project(images, visible, boxes)
    e_proj = (((image_proj - mean) / torch.sqrt(var + 1e-6) - target) ** 2).mean(dim=2)
    weight = ref.loss_weights(e, e_proj, vis_proj, visible, cfg)
    return (e * weight).sum() / (~visible).to(e.dtype).sum()


# MARK: - Step and timing

def make_step(cfg, geometry, seed):
    """Parameters (reference init, F32), AdamW (the arena's decay rule), inputs; returns step closures."""
    params = ref.init_parameters(cfg, seed)
    params = {n: v.detach().to(torch.float32).requires_grad_(True) for n, v in params.items()}
    # The reference rule (ParameterLayout.decaysByDefault): names with "norm" or "bias" get no weight decay.
    no_decay_name = lambda n: "norm" in n or "bias" in n
    decay = [v for n, v in params.items() if not no_decay_name(n)]
    no_decay = [v for n, v in params.items() if no_decay_name(n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=1.5e-4, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(seed + 1)
    b, t, ch = geometry["pairs"], cfg["imageSize"], cfg["channels"]
    images = torch.randn(b, 2, ch, t, t, generator=gen)
    boxes = torch.tensor(geometry["boxes"], dtype=torch.float32)
    ids_shuffle = torch.tensor(geometry["idsShuffle"], dtype=torch.int64)
    len_keep = torch.tensor(geometry["visibleCounts"], dtype=torch.int64)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = weighted_loss(params, cfg, images, boxes, ids_shuffle, len_keep)
        loss.backward()
        optimizer.step()
        return loss

    def forward_backward():
        weighted_loss(params, cfg, images, boxes, ids_shuffle, len_keep).backward()

    return step, forward_backward


def time_steps(step, warmup, steps):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def self_check():
    """This file's model (SDPA attention) in float64 on the fixture's tiny pair batch reproduces
    make_fixture.forward: the weighted loss and every parameter gradient. Returns the worst relative error."""
    torch.set_default_dtype(torch.float64)
    try:
        cfg = dict(ref.TINY_CONFIG)
        expected, images, boxes, ids_shuffle, out = ref.build(cfg, ref.PAIR_BOXES, seed=2026)
        params = {n: v.detach().clone().requires_grad_(True) for n, v in expected.items()}
        loss = weighted_loss(params, cfg, images, boxes, ids_shuffle, out["len_keep"])
        loss.backward()
        worst = abs(loss.item() - out["loss_weighted"].item()) / abs(out["loss_weighted"].item())
        for name, value in expected.items():
            scale = value.grad.abs().max().clamp(min=1e-30)
            worst = max(worst, ((params[name].grad - value.grad).abs().max() / scale).item())
    finally:
        torch.set_default_dtype(torch.float32)
    assert worst < 1e-10, f"torch_step model differs from make_fixture.forward: worst relative error {worst:.2e}"
    return worst


def profile(step, threads, steps=3):
    """Self CPU time per step of the top operators (torch.profiler), for the "where the time goes" note."""
    from torch.profiler import ProfilerActivity, profile as torch_profile
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    print(f"[profile] torch {threads}T, self CPU time summed over {steps} steps:")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=18), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=64, help="pairs per step (B; 2B images)")
    parser.add_argument("--threads", default="1,2", help="comma-separated torch thread counts")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10, help="timed steps (median reported)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--flops", action="store_true", help="count FLOPs of one forward+backward")
    parser.add_argument("--write-geometry", metavar="FILE", help="write the batch geometry as JSON")
    parser.add_argument("--profile", action="store_true", help="torch.profiler table of 3 steps per thread count")
    parser.add_argument("--check", action="store_true",
                        help="first check the model against make_fixture.forward (float64, tiny config)")
    args = parser.parse_args()

    if args.check:
        print(json.dumps(dict(impl="torch", check="loss and gradients match make_fixture.forward",
                              worst_relative_error=self_check())), flush=True)
    cfg = dict(CPU_CONFIG)
    geometry = make_geometry(cfg, args.pairs, args.seed)
    if args.write_geometry:
        with open(args.write_geometry, "w") as handle:
            json.dump(geometry, handle)
    counts = [c[0] for c in geometry["visibleCounts"]]
    summary = dict(pairs=args.pairs, mean_iou=round(statistics.mean(geometry["iou"]), 4), visible_min=min(counts),
                   visible_max=max(counts), visible_mean=round(statistics.mean(counts), 3))
    print(json.dumps(dict(impl="torch", geometry=summary, torch=torch.__version__)), flush=True)
    step, forward_backward = make_step(cfg, geometry, args.seed)
    if args.flops:
        from torch.utils.flop_counter import FlopCounterMode
        counter = FlopCounterMode(display=False)
        with counter:
            forward_backward()
        print(json.dumps(dict(impl="torch", flops_per_step=counter.get_total_flops())), flush=True)
    for threads in [int(t) for t in args.threads.split(",") if t.strip()]:
        torch.set_num_threads(threads)
        median, best = time_steps(step, args.warmup, args.steps)
        print(json.dumps(dict(impl="torch", threads=threads, ms_per_step=round(median * 1e3, 2),
                              best_ms=round(best * 1e3, 2), pairs_per_s=round(args.pairs / median, 2),
                              steps=args.steps)), flush=True)
        if args.profile:
            profile(step, threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
