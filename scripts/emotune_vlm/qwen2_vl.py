"""Qwen2-VL re-implemented as TorchScript-able modules of emotune's bundle contract (docs/bundle.md).

Hugging Face's modules do not script (dynamic grids, caches, kwargs), so the architecture is written again
here for one fixed image resolution, with the checkpoint's own tensor names (so a checkpoint loads by name,
and every tensor is accounted for). It was checked against transformers' Qwen2VLForConditionalGeneration
(4.45) on random-init models of the real class: tests/fixtures/qwen2_vl_*/ and docs/models.md.

Vision tower (Qwen2-VL paper, Sec. 2.1 "Naive Dynamic Resolution"; HF Qwen2VisionTransformerPretrainedModel):
  - 14x14 patches, each a Conv3d over 2 frames; a still image is the same frame twice, so the Conv3d equals a
    Conv2d with the kernel summed over its temporal axis (exact up to rounding);
  - tokens in 2x2 merge-window order (window rows, window columns, then the 2x2 inside), as the processor
    flattens them;
  - 2-D rotary embedding on q/k (half the rotary dimension from the patch row, half from its column), full
    attention within an image, LayerNorm/quick-GELU blocks;
  - PatchMerger: LayerNorm, four neighbours concatenated, MLP into the LM's width.
Decoder (Qwen2): GQA attention with q/k/v biases, RMSNorm, SwiGLU, M-RoPE (Sec. 2.1 "Multimodal Rotary
Position Embedding"): the rotary frequencies are split into sections driven by the temporal, height and width
position axes. With all three axes equal (text, or emotune's `plain` positions) it is the usual 1-D RoPE.

position_ids [3,B,S] is an optional argument of every decoder method; without it positions are
cumsum(mask) - 1 on all three axes (the contract's default, which the tiny bundles use too).
"""
import math
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from .attention import VitMlp, rotate
from .decoder import CausalLM


class Qwen2VLShape:
    """Everything the modules need from config.json, with Qwen2VLConfig's defaults where a key is absent
    (save_pretrained leaves out the vision tower's class defaults). Raises KeyError/ValueError naming the key."""

    def __init__(self, config: dict, image_height: int, image_width: int):
        for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size"):
            if key not in config:
                raise KeyError(f"missing key '{key}'")
        v = dict(config.get("vision_config") or {})
        self.patch = int(v.get("patch_size", v.get("spatial_patch_size", 14)))
        self.temporal_patch = int(v.get("temporal_patch_size", 2))
        self.merge = int(v.get("spatial_merge_size", 2))
        self.in_channels = int(v.get("in_channels", v.get("in_chans", 3)))
        self.vision_dim = int(v.get("embed_dim", 1280))
        self.vision_depth = int(v.get("depth", 32))
        self.vision_heads = int(v.get("num_heads", 16))
        self.vision_mlp = int(self.vision_dim * float(v.get("mlp_ratio", 4)))
        self.vision_act = str(v.get("hidden_act", "quick_gelu"))
        self.hidden = int(config["hidden_size"])
        if int(v.get("hidden_size", self.hidden)) != self.hidden:
            raise ValueError(f"vision_config.hidden_size {v.get('hidden_size')} differs from hidden_size {self.hidden}")
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.kv_heads = int(config.get("num_key_value_heads") or 8)  # Qwen2VLConfig's default
        self.intermediate = int(config["intermediate_size"])
        self.vocab = int(config["vocab_size"])
        self.rms_eps = float(config.get("rms_norm_eps", 1e-5))
        self.rope_theta = float(config.get("rope_theta", 1000000.0))
        self.tied = bool(config.get("tie_word_embeddings", False))
        rope = config.get("rope_scaling") or {}
        kind = rope.get("type", rope.get("rope_type", "mrope"))
        if kind not in ("mrope", "default"):  # yarn, dynamic, linear rescale the frequencies: refused, not exported
            raise ValueError(f"rope_scaling.type '{kind}' is not supported (mrope or default)")
        for name, value in (("hidden_size", self.hidden), ("num_attention_heads", self.heads),
                            ("num_key_value_heads", self.kv_heads), ("num_hidden_layers", self.layers),
                            ("vision_config.embed_dim", self.vision_dim), ("vision_config.num_heads", self.vision_heads)):
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if self.hidden % self.heads or self.heads % self.kv_heads or self.vision_dim % self.vision_heads:
            raise ValueError(f"hidden_size {self.hidden} must divide by num_attention_heads {self.heads}, which must "
                             f"divide by num_key_value_heads {self.kv_heads}; embed_dim {self.vision_dim} by num_heads "
                             f"{self.vision_heads}")
        self.head_dim = self.hidden // self.heads
        self.qkv_bias = True  # Qwen2's q/k/v projections have biases
        self.mrope_section = [int(x) for x in rope.get("mrope_section", [self.head_dim // 2, 0, 0])]
        if sum(self.mrope_section) != self.head_dim // 2:
            raise ValueError(f"rope_scaling.mrope_section {self.mrope_section} must add up to head_dim/2 = {self.head_dim // 2}")
        if config.get("hidden_act", "silu") != "silu" or self.vision_act not in ("quick_gelu", "gelu"):
            raise ValueError(f"unsupported activations: hidden_act {config.get('hidden_act')}, vision {self.vision_act}")
        unit = self.patch * self.merge
        if image_height <= 0 or image_width <= 0 or image_height % unit or image_width % unit:
            raise ValueError(f"--image-size {image_height}x{image_width}: both sides must be multiples of {unit} "
                             f"(patch {self.patch} x merge {self.merge})")
        self.grid_h, self.grid_w = image_height // self.patch, image_width // self.patch
        self.image_height, self.image_width = image_height, image_width

    @property
    def visual_tokens(self) -> int:
        return (self.grid_h // self.merge) * (self.grid_w // self.merge)


class PatchEmbed(nn.Module):
    def __init__(self, s: Qwen2VLShape, device: torch.device):
        super().__init__()
        k = [s.temporal_patch, s.patch, s.patch]
        self.proj = nn.Conv3d(s.in_channels, s.vision_dim, kernel_size=k, stride=k, bias=False, device=device)


class VisionAttention(nn.Module):
    def __init__(self, s: Qwen2VLShape, device: torch.device):
        super().__init__()
        self.qkv = nn.Linear(s.vision_dim, 3 * s.vision_dim, device=device)
        self.proj = nn.Linear(s.vision_dim, s.vision_dim, device=device)
        self.heads = s.vision_heads

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        # HF rotates in fp32 and attends with an fp32 softmax.
        q = rotate(qkv[0].float(), cos, sin).to(x.dtype)
        k = rotate(qkv[1].float(), cos, sin).to(x.dtype)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // self.heads), dim=-1, dtype=torch.float32)
        out = att.to(x.dtype) @ qkv[2]
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class VisionBlock(nn.Module):
    def __init__(self, s: Qwen2VLShape, device: torch.device):
        super().__init__()
        self.norm1 = nn.LayerNorm(s.vision_dim, eps=1e-6, device=device)
        self.norm2 = nn.LayerNorm(s.vision_dim, eps=1e-6, device=device)
        self.attn = VisionAttention(s, device)
        self.mlp = VitMlp(s.vision_dim, s.vision_mlp, s.vision_act, device)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), cos, sin)
        return x + self.mlp(self.norm2(x))


class PatchMerger(nn.Module):
    def __init__(self, s: Qwen2VLShape, device: torch.device):
        super().__init__()
        width = s.vision_dim * s.merge * s.merge
        self.ln_q = nn.LayerNorm(s.vision_dim, eps=1e-6, device=device)
        self.mlp = nn.Sequential(nn.Linear(width, width, device=device), nn.GELU(),
                                 nn.Linear(width, s.hidden, device=device))
        self.width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        return self.mlp(self.ln_q(x).reshape(b, -1, self.width))


def merge_window_order(grid: torch.Tensor, merge: int) -> torch.Tensor:
    """[gh, gw, ...] -> [gh*gw, ...] in the processor's order: merge windows row-major, then inside each."""
    gh, gw = grid.shape[0], grid.shape[1]
    rest = list(grid.shape[2:])
    g = grid.reshape([gh // merge, merge, gw // merge, merge] + rest).transpose(1, 2)
    return g.reshape([gh * gw] + rest)


class VisionTower(nn.Module):
    def __init__(self, s: Qwen2VLShape, device: torch.device):
        super().__init__()
        self.patch_embed = PatchEmbed(s, device)
        self.blocks = nn.ModuleList([VisionBlock(s, device) for _ in range(s.vision_depth)])
        self.merger = PatchMerger(s, device)
        self.patch = s.patch
        self.merge = s.merge
        self.rotary_dim = (s.vision_dim // s.vision_heads) // 2

    def rotary(self, gh: int, gw: int, device: torch.device) -> List[torch.Tensor]:
        """fp32 cos/sin [N, hd/2] of each token's 2-D rotary angles (HF VisionRotaryEmbedding: theta 1e4, a
        quarter of the head dimension from the patch row, a quarter from its column), in merge-window order.
        Computed per call, not kept as buffers: the C++ loader casts a module's buffers to the run's dtype."""
        d = self.rotary_dim
        inv = 1.0 / (10000.0 ** (torch.arange(0, d, 2, dtype=torch.float32, device=device) / d))
        rows = torch.arange(gh, dtype=torch.float32, device=device).view(-1, 1).expand(gh, gw)
        cols = torch.arange(gw, dtype=torch.float32, device=device).view(1, -1).expand(gh, gw)
        hw = merge_window_order(torch.stack([rows, cols], -1), self.merge)  # [N, 2]
        angles = torch.cat([hw[:, :1] * inv, hw[:, 1:] * inv], dim=-1)
        return [angles.cos(), angles.sin()]

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        w = self.patch_embed.proj.weight  # [E, C, t, p, p]; a still image is t identical frames
        # In fp32: the summed kernel rounded to bf16 would add error HF's Conv3d does not have.
        x = F.conv2d(pixels.float(), w.float().sum(2), stride=self.patch).to(w.dtype)  # [B, E, gh, gw]
        cs = self.rotary(x.shape[2], x.shape[3], x.device)
        x = merge_window_order(x.permute(2, 3, 0, 1), self.merge).permute(1, 0, 2)  # [B, N, E]
        for blk in self.blocks:
            x = blk(x, cs[0], cs[1])
        return self.merger(x)


class Qwen2VLBundleModel(CausalLM):
    """The bundle's vlm.pt: encode_image, embed_tokens, forward, hidden_states, project_logits, last_attention,
    prefill, hidden_states_cached (docs/bundle.md), with the checkpoint's tensor names (visual., model., lm_head.)."""

    def __init__(self, s: Qwen2VLShape, device: torch.device = torch.device("cpu")):
        super().__init__(s, device)
        self.visual = VisionTower(s, device)

    @torch.jit.export
    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        """pixels [B,3,H,W] (resized, rescaled, normalised) -> [B,T,D], HF's visual(...) per image."""
        return self.visual(pixels)
