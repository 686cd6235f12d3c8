#!/usr/bin/env python3
"""PyTorch reference fixtures for the NeighborMAE forward pass, loss and gradients (issue 4).

Writes two safetensors files next to the Swift tests:
  Tests/NeighborMAETests/Fixtures/neighbormae-tiny.safetensors     (K = 2 pairs)
  Tests/NeighborMAETests/Fixtures/neighbormae-tiny-k1.safetensors  (K = 1 MAE baseline)

The model follows the project's method notes (METHOD.md sections 2-5 and 9), written out as plain
tensor functions (no nn.Module) so every step is visible. All math runs in float64; tensors are stored as F32
(ids_shuffle and len_keep as I64). Run with the torch CPU venv described in README.md:

    python scripts/reference/make_fixture.py            # self-checks, then writes both fixtures
    python scripts/reference/make_fixture.py --no-check # skip the self-checks
"""

import argparse
import json
import math
import os
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F
from safetensors import safe_open

torch.set_default_dtype(torch.float64)

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURE_DIR = os.path.join(REPO_ROOT, "Tests", "NeighborMAETests", "Fixtures")

# Field names match the Swift `ModelConfig`.
TINY_CONFIG = OrderedDict(
    imageSize=16, patchSize=4, channels=3, imagesPerSample=2,
    encoderWidth=32, encoderDepth=2, encoderHeads=2,
    decoderWidth=16, decoderDepth=1, decoderHeads=2, mlpRatio=4,
    maskRatioMin=0.75, maskRatioMax=0.85, normPixLoss=True,
    weightKernel=5, weightEpsilon=1e-8, layerNormEpsilon=1e-6,
)

# Pair boxes (left, top, right, bottom) in the [0, 32] pair frame, y-up: (a) strong overlap with
# different sizes, (b) partial overlap, (c) disjoint. Each pair's union spans [0, 32]^2 (METHOD 1.4).
# Edges are multiples of 1/16 (exact in F32) chosen so that no nearest-mode visibility sample lies near a
# rounding tie (see nearest_margin), where an F32 reimplementation could round the other way.
PAIR_BOXES = [
    [[0.0, 32.0, 30.1875, 3.75], [1.9375, 28.375, 32.0, 0.0]],
    [[0.0, 32.0, 21.9375, 8.875], [9.375, 23.5, 32.0, 0.0]],
    [[0.0, 32.0, 14.0, 18.0], [16.0, 14.0, 32.0, 0.0]],
]
FULL_FRAME_BOX = [0.0, 32.0, 32.0, 0.0]


# MARK: - Sizes

def sizes(cfg):
    """Derived sizes: G grid side, L patches per image, P patch vector length, n_max kept tokens."""
    grid = cfg["imageSize"] // cfg["patchSize"]
    patches = grid * grid
    patch_dim = cfg["patchSize"] ** 2 * cfg["channels"]
    n_max = int(torch.round(torch.tensor((1.0 - cfg["maskRatioMin"]) * patches)).item())
    return grid, patches, patch_dim, n_max


# MARK: - Parameters

def parameter_shapes(cfg):
    """(name, shape, kind) in registration order; kind is 'linear_w', 'bias', 'ln_w', 'ln_b' or 'token'."""
    _, _, patch_dim, _ = sizes(cfg)
    d, e, k, r = cfg["encoderWidth"], cfg["decoderWidth"], cfg["imagesPerSample"], cfg["mlpRatio"]
    out = [("patch_embed.weight", [d, patch_dim], "linear_w"), ("patch_embed.bias", [d], "bias"),
           ("cls_token", [1, 1, d], "token"), ("img_embed", [1, k, d], "token")]
    out += block_shapes("blocks", cfg["encoderDepth"], d, r)
    out += [("norm.weight", [d], "ln_w"), ("norm.bias", [d], "ln_b"),
            ("decoder_embed.weight", [e, d], "linear_w"), ("decoder_embed.bias", [e], "bias"),
            ("mask_token", [1, 1, e], "token"), ("decoder_img_embed", [1, k, e], "token")]
    out += block_shapes("decoder_blocks", cfg["decoderDepth"], e, r)
    out += [("decoder_norm.weight", [e], "ln_w"), ("decoder_norm.bias", [e], "ln_b"),
            ("decoder_pred.weight", [patch_dim, e], "linear_w"), ("decoder_pred.bias", [patch_dim], "bias")]
    return out


def block_shapes(prefix, depth, width, ratio):
    out = []
    for i in range(depth):
        p = f"{prefix}.{i}."
        out += [(p + "norm1.weight", [width], "ln_w"), (p + "norm1.bias", [width], "ln_b"),
                (p + "attn.qkv.weight", [3 * width, width], "linear_w"), (p + "attn.qkv.bias", [3 * width], "bias"),
                (p + "attn.proj.weight", [width, width], "linear_w"), (p + "attn.proj.bias", [width], "bias"),
                (p + "norm2.weight", [width], "ln_w"), (p + "norm2.bias", [width], "ln_b"),
                (p + "mlp.fc1.weight", [ratio * width, width], "linear_w"),
                (p + "mlp.fc1.bias", [ratio * width], "bias"),
                (p + "mlp.fc2.weight", [width, ratio * width], "linear_w"), (p + "mlp.fc2.bias", [width], "bias")]
    return out


def as_f32_exact(x):
    """Round to the nearest F32 value (kept in float64), so the stored F32 inputs are exactly what was used."""
    return x.to(torch.float32).to(torch.float64)


def init_parameters(cfg, seed, perturb=0.1):
    """Reference initialisation (xavier-uniform linears, zero biases, LayerNorm 1/0, tokens N(0, 0.02)),
    then every bias and LayerNorm weight/bias gets U(-perturb, perturb) noise so its gradient is non-trivial."""
    gen = torch.Generator().manual_seed(seed)
    params = OrderedDict()
    for name, shape, kind in parameter_shapes(cfg):
        if kind == "linear_w":
            bound = math.sqrt(6.0 / (shape[0] + shape[1]))
            value = (torch.rand(shape, generator=gen) * 2.0 - 1.0) * bound
        elif kind == "token":
            value = torch.randn(shape, generator=gen) * 0.02
        else:
            value = torch.full(shape, 1.0 if kind == "ln_w" else 0.0)
            value = value + (torch.rand(shape, generator=gen) * 2.0 - 1.0) * perturb
        params[name] = as_f32_exact(value).requires_grad_(True)
    return params


# MARK: - Layers (timm-style pre-norm ViT block)

def linear(x, params, name):
    return x @ params[name + ".weight"].t() + params[name + ".bias"]


def layer_norm(x, params, name, eps):
    return F.layer_norm(x, x.shape[-1:], params[name + ".weight"], params[name + ".bias"], eps)


def attention(x, params, name, heads, key_mask):
    """x [B, S, W]; key_mask [B, S] bool (True = may be attended) or None. qkv per token is [3, H, W/H]."""
    b, s, w = x.shape
    hd = w // heads
    qkv = linear(x, params, name + ".qkv").reshape(b, s, 3, heads, hd).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]                                   # [B, H, S, hd]
    scores = (q @ k.transpose(-2, -1)) * hd ** -0.5                    # [B, H, S, S]
    if key_mask is not None:
        scores = scores.masked_fill(~key_mask[:, None, None, :], float("-inf"))
    out = torch.softmax(scores, dim=-1) @ v                            # [B, H, S, hd]
    return linear(out.transpose(1, 2).reshape(b, s, w), params, name + ".proj")


def block(x, params, name, heads, eps, key_mask):
    x = x + attention(layer_norm(x, params, name + ".norm1", eps), params, name + ".attn", heads, key_mask)
    hidden = F.gelu(linear(layer_norm(x, params, name + ".norm2", eps), params, name + ".mlp.fc1"))
    return x + linear(hidden, params, name + ".mlp.fc2")


# MARK: - Patches, positions, masking

def patchify(images, p):
    """[B, K, C, T, T] -> [B, K, L, p*p*C] in (p, q, c) order (row-major patch pixels, channels last)."""
    b, k, c, t, _ = images.shape
    g = t // p
    x = images.reshape(b, k, c, g, p, g, p).permute(0, 1, 3, 5, 4, 6, 2)
    return x.reshape(b, k, g * g, p * p * c)


def unpatchify(x, p, c):
    """[B, K, L, p*p*C] -> [B, K, C, T, T]."""
    b, k, l, _ = x.shape
    g = int(round(math.sqrt(l)))
    x = x.reshape(b, k, g, g, p, p, c).permute(0, 1, 6, 2, 4, 3, 5)
    return x.reshape(b, k, c, g * p, g * p)


def patch_edges(boxes, grid):
    """boxes [B, K, 4] (l, t, r, b) -> [B, K, L, 4] per patch (x_j, y_i, x_{j+1}, y_{i+1}), raster order."""
    steps = torch.arange(grid + 1, dtype=boxes.dtype) / grid
    left, top, right, bottom = boxes.unbind(-1)
    xs = left[..., None] + steps * (right - left)[..., None]          # [B, K, G+1]
    ys = top[..., None] + steps * (bottom - top)[..., None]
    b, k = boxes.shape[:2]
    l = xs[:, :, None, :-1].expand(b, k, grid, grid)
    r = xs[:, :, None, 1:].expand(b, k, grid, grid)
    t = ys[:, :, :-1, None].expand(b, k, grid, grid)
    bo = ys[:, :, 1:, None].expand(b, k, grid, grid)
    return torch.stack([l, t, r, bo], dim=-1).reshape(b, k, grid * grid, 4)


def position_embedding(boxes, grid, width, slot_embed):
    """4-edge sin-cos code (s = width/8 frequencies 10000^-linspace(0,1,s)) plus slot embedding -> [B, K, L, width]."""
    s = width // 8
    omega = 10000.0 ** (-torch.linspace(0.0, 1.0, s))
    angles = patch_edges(boxes, grid)[..., None] * omega                # [B, K, L, 4, s]
    code = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)    # [B, K, L, 4, 2s]
    return code.flatten(-2) + slot_embed[0][None, :, None, :]


def pair_iou(boxes):
    """boxes [B, K, 4] -> mean IoU with the other images [B, K]; zeros for K = 1 (no neighbour)."""
    b, k, _ = boxes.shape
    if k == 1:
        return torch.zeros(b, 1)
    left, top, right, bottom = boxes.unbind(-1)
    iw = (torch.minimum(right[:, :, None], right[:, None, :]) - torch.maximum(left[:, :, None], left[:, None, :]))
    ih = (torch.minimum(top[:, :, None], top[:, None, :]) - torch.maximum(bottom[:, :, None], bottom[:, None, :]))
    inter = iw.clamp(min=0) * ih.clamp(min=0)
    area = (right - left) * (top - bottom)
    iou = inter / (area[:, :, None] + area[:, None, :] - inter)
    return (iou.sum(dim=2) - 1.0) / (k - 1)


def keep_counts(boxes, cfg, patches):
    """n per image = round((1 - mask_ratio) * L), torch.round (half to even) -> [B, K] int64."""
    ratio = cfg["maskRatioMin"] + pair_iou(boxes) * (cfg["maskRatioMax"] - cfg["maskRatioMin"])
    return torch.round((1.0 - ratio) * patches).long()


# MARK: - Encoder and decoder

def encode(params, cfg, patches, pe_enc, ids_shuffle, len_keep):
    """Returns encoder output after the final norm [B, S, D] (S = 1 + K*n_max) and the key mask [B, S].
    Sequence: [cls, image 0 ranks 0..n_max-1, image 1 ranks 0..n_max-1]; rank r of image k is raster patch
    ids_shuffle[b, k, r]; key_mask is True for cls and ranks < len_keep."""
    x, key_mask = encoder_tokens(params, cfg, patches, pe_enc, ids_shuffle, len_keep)
    return run_encoder(params, cfg, x, key_mask), key_mask


def encoder_tokens(params, cfg, patches, pe_enc, ids_shuffle, len_keep):
    """Encoder input [B, S, D] (patch_embed + PE of the first n_max shuffled patches, cls first) and key mask."""
    b, k, _, patch_dim = patches.shape
    _, _, _, n_max = sizes(cfg)
    d = cfg["encoderWidth"]
    ids_keep = ids_shuffle[:, :, :n_max]
    kept = torch.gather(patches, 2, ids_keep[..., None].expand(b, k, n_max, patch_dim))
    pe = torch.gather(pe_enc, 2, ids_keep[..., None].expand(b, k, n_max, d))
    x = (linear(kept, params, "patch_embed") + pe).reshape(b, k * n_max, d)
    x = torch.cat([params["cls_token"].expand(b, 1, d), x], dim=1)
    ranks = torch.arange(n_max)
    valid = (ranks[None, None, :] < len_keep[:, :, None]).reshape(b, k * n_max)
    return x, torch.cat([torch.ones(b, 1, dtype=torch.bool), valid], dim=1)


def run_encoder(params, cfg, x, key_mask):
    """Encoder blocks with the key mask, then the final LayerNorm: [B, S, D] -> [B, S, D]."""
    eps = cfg["layerNormEpsilon"]
    for i in range(cfg["encoderDepth"]):
        x = block(x, params, f"blocks.{i}", cfg["encoderHeads"], eps, key_mask)
    return layer_norm(x, params, "norm", eps)


def decode(params, cfg, encoded, pe_dec, ids_shuffle, len_keep):
    """encoded [B, S, D] -> pred patches in raster order [B, K, L, P]."""
    b, k, l = ids_shuffle.shape
    _, _, patch_dim, n_max = sizes(cfg)
    e = cfg["decoderWidth"]
    y = linear(encoded, params, "decoder_embed")                       # [B, S, E]
    mask_token = params["mask_token"].reshape(1, 1, 1, e)
    slots = torch.cat([y[:, 1:].reshape(b, k, n_max, e), mask_token.expand(b, k, l - n_max, e)], dim=2)
    ranks = torch.arange(l)
    slots = torch.where((ranks[None, None, :] < len_keep[:, :, None])[..., None], slots, mask_token)
    slots = slots + torch.gather(pe_dec, 2, ids_shuffle[..., None].expand(b, k, l, e))
    x = torch.cat([y[:, :1], slots.reshape(b, k * l, e)], dim=1)       # cls gets zero position
    eps = cfg["layerNormEpsilon"]
    for i in range(cfg["decoderDepth"]):
        x = block(x, params, f"decoder_blocks.{i}", cfg["decoderHeads"], eps, None)
    x = layer_norm(x[:, 1:], params, "decoder_norm", eps)
    pred = linear(x, params, "decoder_pred").reshape(b, k, l, patch_dim)
    ids_restore = torch.argsort(ids_shuffle, dim=2)
    return torch.gather(pred, 2, ids_restore[..., None].expand(b, k, l, patch_dim))


# MARK: - Loss

def patch_statistics(images, p):
    """Per-pixel mean and unbiased variance of the patch containing the pixel -> two [B, K, 1, T, T]."""
    b, k, c, t, _ = images.shape
    g = t // p
    x = images.reshape(b, k, c, g, p, g, p).permute(0, 1, 3, 5, 2, 4, 6).reshape(b, k, g, g, c * p * p)
    mean, var = x.mean(dim=-1), x.var(dim=-1, unbiased=True)
    spread = lambda s: s.repeat_interleave(p, dim=2).repeat_interleave(p, dim=3)[:, :, None]
    return spread(mean), spread(var)


def sampling_grids(boxes, size):
    """Grid for each image k sampling its neighbour o = 1 - k (METHOD 5.3) -> [B, K, T, T, 2] (x, y)."""
    step = torch.linspace(-1.0 + 1.0 / size, 1.0 - 1.0 / size, size)
    base = torch.stack([step[None, :].expand(size, size), step[:, None].expand(size, size)], dim=-1)
    left, top, right, bottom = boxes.unbind(-1)
    center = torch.stack([(left + right) / 2, (top + bottom) / 2], dim=-1)    # [B, K, 2]
    extent = torch.stack([(right - left).abs(), (top - bottom).abs()], dim=-1)
    other = [1, 0]
    scale = extent / extent[:, other]
    translate = (center - center[:, other]) * 2.0 / extent[:, other]
    translate = translate * torch.tensor([1.0, -1.0])
    return base * scale[:, :, None, None, :] + translate[:, :, None, None, :]


def cross_project(images, visible, boxes):
    """Neighbour image and visibility resampled on each image's pixel grid -> [B, K, C, T, T], [B, K, T, T]."""
    b, k, c, t, _ = images.shape
    grids = sampling_grids(boxes, t).reshape(b * k, t, t, 2)
    other = [1, 0]
    img = F.grid_sample(images[:, other].reshape(b * k, c, t, t), grids, mode="bilinear",
                        padding_mode="zeros", align_corners=False)
    vis = F.grid_sample(visible[:, other].to(images.dtype).reshape(b * k, 1, t, t), grids, mode="nearest",
                        padding_mode="zeros", align_corners=False)
    return img.reshape(b, k, c, t, t), vis.reshape(b, k, t, t)


def loss_weights(e, e_proj, vis_proj, visible, cfg):
    """w0 = clamp(e_proj / (stopgrad(e) + eps), 0, 1), 1 where the neighbour does not show the point;
    smoothed by a k x k mean (count_include_pad=False); 0 on own visible pixels. All [B, K, T, T]."""
    b, k, t, _ = e.shape
    w0 = (e_proj / (e.detach() + cfg["weightEpsilon"])).clamp(0.0, 1.0)
    w0 = torch.where(vis_proj > 0.5, w0, torch.ones_like(w0))
    ks = cfg["weightKernel"]
    w = F.avg_pool2d(w0.reshape(b * k, 1, t, t), ks, stride=1, padding=ks // 2, count_include_pad=False)
    return w.reshape(b, k, t, t).masked_fill(visible, 0.0)


# MARK: - Whole model

def forward(params, cfg, images, boxes, ids_shuffle, fixed_weight=None):
    """Forward pass and both losses. fixed_weight replaces the computed weight map (finite differences)."""
    p, c = cfg["patchSize"], cfg["channels"]
    grid, l, _, _ = sizes(cfg)
    b, k = images.shape[:2]
    len_keep = keep_counts(boxes, cfg, l)
    pe_enc = position_embedding(boxes, grid, cfg["encoderWidth"], params["img_embed"])
    pe_dec = position_embedding(boxes, grid, cfg["decoderWidth"], params["decoder_img_embed"])
    encoded, key_mask = encode(params, cfg, patchify(images, p), pe_enc, ids_shuffle, len_keep)
    pred = unpatchify(decode(params, cfg, encoded, pe_dec, ids_shuffle, len_keep), p, c)
    ranks = torch.argsort(ids_shuffle, dim=2)                          # rank of each raster patch
    vis_patch = (ranks < len_keep[:, :, None]).reshape(b, k, grid, grid)
    visible = vis_patch.repeat_interleave(p, dim=2).repeat_interleave(p, dim=3)   # [B, K, T, T]
    mean, var = patch_statistics(images, p)
    target = (images - mean) / torch.sqrt(var + 1e-6) if cfg["normPixLoss"] else images
    e = ((pred - target) ** 2).mean(dim=2)
    if k == 2:
        image_proj, vis_proj = cross_project(images, visible, boxes)
        proj_n = (image_proj - mean) / torch.sqrt(var + 1e-6) if cfg["normPixLoss"] else image_proj
        e_proj = ((proj_n - target) ** 2).mean(dim=2)
    else:  # no neighbour: nothing is shown elsewhere, w0 = 1 everywhere
        image_proj, vis_proj = torch.zeros_like(images), torch.zeros_like(e)
        e_proj = torch.zeros_like(e)
    weight = loss_weights(e, e_proj, vis_proj, visible, cfg) if fixed_weight is None else fixed_weight
    invisible = (~visible).to(e.dtype)
    count = invisible.sum()
    return dict(loss_weighted=(e * weight).sum() / count, loss_plain=(e * invisible).sum() / count,
                loss_weight=weight, pred=pred, visible=visible, image_proj=image_proj, vis_proj=vis_proj,
                target=target, encoder_out=encoded, len_keep=len_keep, key_mask=key_mask, iou=pair_iou(boxes))


# MARK: - Inputs

def render_world(boxes, size, channels, gen, noise=0.15):
    """Images of one smooth synthetic world seen through each box, plus per-image noise -> [B, K, C, T, T].
    Pixel (i, j) of a box samples the world at its centre: x = l + (j+.5)(r-l)/T, y = t - (i+.5)(t-b)/T."""
    b, k, _ = boxes.shape
    waves = []
    for _ in range(channels):
        freq = (torch.rand(3, 2, generator=gen) * 2.0 - 1.0) * 0.5
        phase = torch.rand(3, generator=gen) * 2.0 * math.pi
        amp = 0.5 + 0.5 * torch.rand(3, generator=gen)
        waves.append((freq, phase, amp))
    frac = (torch.arange(size, dtype=boxes.dtype) + 0.5) / size
    left, top, right, bottom = boxes.unbind(-1)
    xs = left[..., None] + frac * (right - left)[..., None]           # [B, K, T] along columns
    ys = top[..., None] - frac * (top - bottom)[..., None]            # [B, K, T] along rows
    x, y = xs[:, :, None, :], ys[:, :, :, None]
    chans = []
    for freq, phase, amp in waves:
        v = sum(amp[m] * torch.sin(freq[m, 0] * x + freq[m, 1] * y + phase[m]) for m in range(3))
        chans.append(v)
    images = torch.stack(chans, dim=2) + 0.2 * torch.sign(x - 16.0)[:, :, None]
    return images + noise * torch.randn(b, k, channels, size, size, generator=gen)


def make_inputs(cfg, boxes_list, seed):
    gen = torch.Generator().manual_seed(seed)
    boxes = as_f32_exact(torch.tensor(boxes_list))
    b, k = boxes.shape[:2]
    images = as_f32_exact(render_world(boxes, cfg["imageSize"], cfg["channels"], gen))
    _, l, _, _ = sizes(cfg)
    ids_shuffle = torch.argsort(torch.rand(b, k, l, generator=gen), dim=2)
    return images, boxes, ids_shuffle


# MARK: - Self-checks

def nearest_margin(boxes, size):
    """Smallest distance (in pixels) of a nearest-mode sample coordinate to a rounding tie (.5), over the samples
    that can land inside the neighbour (both coordinates in (-1, T)); 1 if none can."""
    ix = ((sampling_grids(boxes, size) + 1.0) * size - 1.0) / 2.0
    inside = ((ix > -1.0) & (ix < size)).all(dim=-1, keepdim=True).expand_as(ix)
    distance = (ix - ix.floor() - 0.5).abs()
    return distance[inside].min().item() if bool(inside.any()) else 1.0


def keep_margin(boxes, cfg):
    """Distance of (1 - mask_ratio) * L from a rounding tie, so F32 and F64 agree on len_keep."""
    _, l, _, _ = sizes(cfg)
    ratio = cfg["maskRatioMin"] + pair_iou(boxes) * (cfg["maskRatioMax"] - cfg["maskRatioMin"])
    v = (1.0 - ratio) * l
    return (v - v.floor() - 0.5).abs().min().item()


def check_gradients(params, cfg, images, boxes, ids_shuffle, out, h=1e-5, tol=1e-6):
    """(i) central differences of L_weighted (weight map held fixed) vs autograd, at the largest-gradient
    element of several parameters."""
    weight = out["loss_weight"].detach()
    names = ["patch_embed.weight", "cls_token", "img_embed", "blocks.0.attn.qkv.weight", "blocks.1.norm1.weight",
             "norm.bias", "decoder_embed.weight", "mask_token", "decoder_img_embed",
             "decoder_blocks.0.mlp.fc1.bias", "decoder_norm.weight", "decoder_pred.bias"]
    worst = 0.0
    with torch.no_grad():
        for name in names:
            grad = params[name].grad
            index = int(grad.abs().argmax())
            flat = params[name].view(-1)
            saved = flat[index].item()
            losses = []
            for sign in (1.0, -1.0):
                flat[index] = saved + sign * h
                losses.append(forward(params, cfg, images, boxes, ids_shuffle, weight)["loss_weighted"].item())
            flat[index] = saved
            fd, ad = (losses[0] - losses[1]) / (2 * h), grad.view(-1)[index].item()
            rel = abs(fd - ad) / max(abs(ad), 1e-30)
            worst = max(worst, rel)
            assert rel < tol, f"finite difference {name}[{index}]: fd {fd:.12e} autograd {ad:.12e} rel {rel:.2e}"
    return worst


def check_identity_projection(images, visible):
    """(ii) identical boxes: the cross-projected image is the neighbour image (and visibility) to 1e-12."""
    b = images.shape[0]
    boxes = torch.tensor([[[3.0, 29.0, 27.0, 5.0]] * 2] * b)
    image_proj, vis_proj = cross_project(images, visible, boxes)
    err = (image_proj - images[:, [1, 0]]).abs().max().item()
    assert err < 1e-12, f"identity projection error {err}"
    assert torch.equal(vis_proj > 0.5, visible[:, [1, 0]]), "identity projection changed visibility"
    return err


def check_projection_geometry(images, boxes, out):
    """(ii b) overlapping pairs: inside the neighbour's footprint the projected neighbour matches the image to
    noise level (both are renders of one world), far better than the unaligned neighbour (METHOD 5.3)."""
    footprint, _ = cross_project(torch.ones_like(images), out["visible"], boxes)
    for b in range(images.shape[0]):
        for k in range(images.shape[1]):
            inside = footprint[b, k, 0] > 0.999
            if int(inside.sum()) < 16:
                continue
            aligned = (out["image_proj"][b, k] - images[b, k]).abs()[:, inside].mean().item()
            unaligned = (images[b, 1 - k] - images[b, k]).abs()[:, inside].mean().item()
            assert aligned < 0.3 and aligned < 0.5 * unaligned, f"projection geometry pair {b} image {k}"


def check_disjoint_weights(out, index):
    """(iii) disjoint pair: weights exactly 1 on masked pixels, 0 on visible ones."""
    w, vis = out["loss_weight"][index], out["visible"][index]
    assert out["iou"][index].abs().max().item() == 0.0
    assert torch.all(w[~vis] == 1.0) and torch.all(w[vis] == 0.0), "disjoint pair weights are not exactly 1/0"


def check_dropped_tokens(params, cfg, images, boxes, ids_shuffle, out):
    """(iv) key-masking the surplus tokens equals dropping them, for cls and the valid tokens (METHOD 10.6)."""
    grid, _, _, _ = sizes(cfg)
    pe_enc = position_embedding(boxes, grid, cfg["encoderWidth"], params["img_embed"])
    with torch.no_grad():
        x, key_mask = encoder_tokens(params, cfg, patchify(images, cfg["patchSize"]), pe_enc, ids_shuffle,
                                     out["len_keep"])
        worst = 0.0
        for b in range(x.shape[0]):
            keep = key_mask[b].nonzero().flatten()
            dropped = run_encoder(params, cfg, x[b:b + 1, keep], None)
            worst = max(worst, (dropped[0] - out["encoder_out"][b, keep]).abs().max().item())
    assert worst < 1e-12, f"dropping surplus tokens changes the encoder output by {worst}"
    return worst


def check_layouts(cfg, images, boxes):
    """(v) patch vector order (p, q, c) and unpatchify inverse; (vi) full-frame patch edges (METHOD 10.5)."""
    p, c = cfg["patchSize"], cfg["channels"]
    grid = cfg["imageSize"] // p
    x = patchify(images, p)
    b, k, gi, gj, pi, qi, ch = 1, 0, 2, 1, 3, 2, 1
    assert x[b, k, gi * grid + gj, (pi * p + qi) * c + ch] == images[b, k, ch, gi * p + pi, gj * p + qi]
    assert torch.equal(unpatchify(x, p, c), images)
    edges = patch_edges(torch.tensor([[FULL_FRAME_BOX]]), grid)[0, 0].reshape(grid, grid, 4)
    step = 32.0 / grid
    for i, j in [(0, 0), (1, 2), (grid - 1, grid - 1)]:
        expected = torch.tensor([j * step, 32.0 - i * step, (j + 1) * step, 32.0 - (i + 1) * step])
        assert torch.allclose(edges[i, j], expected, rtol=0, atol=1e-12), f"patch edges ({i}, {j})"


def check_file(path, cfg, images, boxes, ids_shuffle):
    """(vii) rebuild the model from the written file, rerun forward and backward, compare to the stored values."""
    with safe_open(path, framework="pt") as handle:
        stored = {name: handle.get_tensor(name) for name in handle.keys()}
        assert json.loads(handle.metadata()["config"]) == cfg
    params = OrderedDict((n, stored["param." + n].to(torch.float64).requires_grad_(True))
                         for n, _, _ in parameter_shapes(cfg))
    assert torch.equal(stored["images"].to(torch.float64), images)
    assert torch.equal(stored["ids_shuffle"], ids_shuffle) and torch.equal(stored["boxes"].to(torch.float64), boxes)
    out = forward(params, cfg, images, boxes, ids_shuffle)
    out["loss_weighted"].backward()
    assert torch.equal(stored["loss_weighted"], out["loss_weighted"].detach().to(torch.float32).reshape(1))
    assert torch.equal(stored["len_keep"], out["len_keep"])
    for name, value in params.items():
        assert torch.equal(stored["grad." + name], value.grad.to(torch.float32)), f"stored grad.{name} differs"


# MARK: - Build, summarise, save

def build(cfg, boxes_list, seed):
    params = init_parameters(cfg, seed)
    images, boxes, ids_shuffle = make_inputs(cfg, boxes_list, seed + 1)
    out = forward(params, cfg, images, boxes, ids_shuffle)
    out["loss_weighted"].backward()
    return params, images, boxes, ids_shuffle, out


def summarise(label, params, out):
    print(f"== {label}")
    print(f"  loss_weighted {out['loss_weighted'].item():.10f}   loss_plain {out['loss_plain'].item():.10f}")
    print(f"  IoU per pair  {[round(v, 6) for v in out['iou'][:, 0].tolist()]}")
    print(f"  len_keep      {out['len_keep'].tolist()}")
    w, vis = out["loss_weight"], out["visible"]
    masked = w[~vis]
    print(f"  masked pixels {int((~vis).sum())}, weight on masked: min {masked.min().item():.6f} "
          f"mean {masked.mean().item():.6f}, < 1 at {int((masked < 1).sum())}")
    norms = {n: p.grad.norm().item() for n, p in params.items()}
    total = math.sqrt(sum(v * v for v in norms.values()))
    small = min(norms, key=norms.get)
    large = max(norms, key=norms.get)
    print(f"  grad norm total {total:.6e}; smallest {small} {norms[small]:.3e}; largest {large} {norms[large]:.3e}")
    for name in ("patch_embed.weight", "cls_token", "img_embed", "mask_token", "decoder_img_embed", "norm.bias"):
        print(f"    |grad {name}| = {norms[name]:.6e}")


def write_safetensors(path, tensors, metadata):
    """safetensors with a deterministic header (tensors in the given order, metadata keys sorted), so that
    regenerating gives identical bytes; safetensors.save_file orders the metadata differently run to run."""
    dtypes = {torch.float32: "F32", torch.int64: "I64"}
    header, blobs, offset = OrderedDict(__metadata__=dict(sorted(metadata.items()))), [], 0
    for name, value in tensors.items():
        blob = value.contiguous().numpy().tobytes()   # little-endian on every supported host
        header[name] = {"dtype": dtypes[value.dtype], "shape": list(value.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path + ".tmp", "wb") as handle:
        handle.write(len(text).to_bytes(8, "little") + text + b"".join(blobs))
    os.replace(path + ".tmp", path)


def save(path, cfg, params, images, boxes, ids_shuffle, out):
    f32 = lambda t: t.detach().to(torch.float32).contiguous()
    tensors = OrderedDict()
    for name, value in params.items():
        tensors["param." + name] = f32(value)
    for name, value in params.items():
        tensors["grad." + name] = f32(value.grad)
    tensors.update(images=f32(images), boxes=f32(boxes), ids_shuffle=ids_shuffle.to(torch.int64).contiguous(),
                   len_keep=out["len_keep"].to(torch.int64).contiguous(),
                   loss_plain=f32(out["loss_plain"].reshape(1)), loss_weighted=f32(out["loss_weighted"].reshape(1)))
    for name in ("loss_weight", "pred", "visible", "image_proj", "vis_proj", "target", "encoder_out"):
        tensors[name] = f32(out[name].to(torch.float64))
    meta = {"config": json.dumps(cfg), "generator": "scripts/reference/make_fixture.py", "torch": torch.__version__}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_safetensors(path, tensors, meta)
    print(f"  wrote {os.path.relpath(path, REPO_ROOT)} ({os.path.getsize(path)} bytes, {len(tensors)} tensors)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-check", action="store_true", help="skip the self-checks")
    parser.add_argument("--out", default=FIXTURE_DIR, help="output directory")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    cfg2 = OrderedDict(TINY_CONFIG)
    pair = build(cfg2, PAIR_BOXES, seed=2026)
    summarise("K = 2 (pairs)", pair[0], pair[4])
    cfg1 = OrderedDict(TINY_CONFIG, imagesPerSample=1)
    single = build(cfg1, [[FULL_FRAME_BOX]] * 3, seed=2027)
    summarise("K = 1 (MAE baseline)", single[0], single[4])

    if not args.no_check:
        margin = nearest_margin(pair[2], cfg2["imageSize"])
        assert margin > 1e-2, f"nearest-mode sample within {margin} px of a rounding tie"
        keep = min(keep_margin(pair[2], cfg2), keep_margin(single[2], cfg1))
        assert keep > 1e-2, f"(1 - mask ratio) * L within {keep} of a rounding tie"
        worst2 = check_gradients(pair[0], cfg2, *pair[1:])
        worst1 = check_gradients(single[0], cfg1, *single[1:])
        err = check_identity_projection(pair[1], pair[4]["visible"])
        check_projection_geometry(pair[1], pair[2], pair[4])
        check_disjoint_weights(pair[4], 2)
        dropped = max(check_dropped_tokens(pair[0], cfg2, *pair[1:]),
                      check_dropped_tokens(single[0], cfg1, *single[1:]))
        check_layouts(cfg2, pair[1], pair[2])
        k1 = single[4]
        assert k1["loss_weighted"].item() == k1["loss_plain"].item(), "K = 1: weighted loss differs from plain loss"
        print(f"== self-checks passed: finite differences worst rel {max(worst2, worst1):.2e} (tol 1e-6); "
              f"identity projection {err:.1e}; projection matches the world render; "
              f"disjoint weights exactly 1; K = 1 weighted == plain; "
              f"dropped vs key-masked tokens {dropped:.1e}; patch/edge layouts; "
              f"tie margins: nearest {margin:.4f} px, len_keep {keep:.4f}")

    for name, cfg, built in (("neighbormae-tiny", cfg2, pair), ("neighbormae-tiny-k1", cfg1, single)):
        path = os.path.join(args.out, name + ".safetensors")
        save(path, cfg, *built)
        if not args.no_check:
            check_file(path, cfg, *built[1:4])
    if not args.no_check:
        print("== written files reload and reproduce their losses and gradients bit for bit (F32)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
