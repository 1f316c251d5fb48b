"""The tiny VLM architecture, defined once for every emotune bundle built in this repository.

It follows the shape of Qwen2-VL at toy scale so the bundle contract (docs/bundle.md) is exercised by the
same structure a real model has: a ViT over patches, a 2x2 patch merger projecting into the LM's embedding
space (so encode_image returns V_global already in LM space), and a pre-norm causal decoder with RMSNorm,
rotary positions and a SwiGLU MLP. Positions come from the attention mask (cumulative sum - 1), so left
padding is harmless. The randomly initialised bundle (make_tiny_bundle.py) and the pretrained embedded
default use this same module.
"""
import math
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from .attention import causal_bias, mask_positions, rotate


class TinyVLMConfig:
    def __init__(self, vocab_size: int = 512, image_size: int = 64, patch_size: int = 8, merge: int = 2,
                 vision_dim: int = 64, vision_layers: int = 2, vision_heads: int = 4,
                 hidden_size: int = 64, lm_layers: int = 2, lm_heads: int = 4, mlp_ratio: int = 4):
        self.vocab_size = vocab_size
        self.image_size = image_size
        self.patch_size = patch_size
        self.merge = merge
        self.vision_dim = vision_dim
        self.vision_layers = vision_layers
        self.vision_heads = vision_heads
        self.hidden_size = hidden_size
        self.lm_layers = lm_layers
        self.lm_heads = lm_heads
        self.mlp_ratio = mlp_ratio

    @property
    def visual_tokens(self) -> int:
        side = self.image_size // self.patch_size // self.merge
        return side * side

    def to_dict(self):
        return dict(self.__dict__)


class VisionBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp_ratio * dim)
        self.fc2 = nn.Linear(mlp_ratio * dim, dim)
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        h = self.heads
        qkv = self.qkv(self.norm1(x)).view(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h), dim=-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, d))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class DecoderBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: int):
        super().__init__()
        self.norm1 = RMSNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.o = nn.Linear(dim, dim, bias=False)
        self.norm2 = RMSNorm(dim)
        self.gate = nn.Linear(dim, mlp_ratio * dim, bias=False)
        self.up = nn.Linear(dim, mlp_ratio * dim, bias=False)
        self.down = nn.Linear(mlp_ratio * dim, dim, bias=False)
        self.heads = heads

    def attention(self, x: torch.Tensor, bias: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """The attention probabilities [B,H,S,S] (query row, key column)."""
        b, s, d = x.shape
        h = self.heads
        y = self.norm1(x)
        q = rotate(self.q(y).view(b, s, h, d // h).transpose(1, 2), cos, sin)
        k = rotate(self.k(y).view(b, s, h, d // h).transpose(1, 2), cos, sin)
        return torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h) + bias, dim=-1)

    def keys_values(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> List[torch.Tensor]:
        """This layer's rotated keys and values [B,H,S,hd] of x: what a prefix cache keeps."""
        b, s, d = x.shape
        h = self.heads
        y = self.norm1(x)
        k = rotate(self.k(y).view(b, s, h, d // h).transpose(1, 2), cos, sin)
        v = self.v(y).view(b, s, h, d // h).transpose(1, 2)
        return [k, v]

    def forward_past(self, x: torch.Tensor, past_k: torch.Tensor, past_v: torch.Tensor, bias: torch.Tensor,
                     cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """forward() for positions that follow a cached prefix: queries of x over [past; x] keys."""
        b, s, d = x.shape
        h = self.heads
        y = self.norm1(x)
        q = rotate(self.q(y).view(b, s, h, d // h).transpose(1, 2), cos, sin)
        kv = self.keys_values(x, cos, sin)
        k = torch.cat([past_k, kv[0]], dim=2)
        v = torch.cat([past_v, kv[1]], dim=2)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h) + bias, dim=-1)
        x = x + self.o((att @ v).transpose(1, 2).reshape(b, s, d))
        y = self.norm2(x)
        return x + self.down(F.silu(self.gate(y)) * self.up(y))

    def forward(self, x: torch.Tensor, bias: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        b, s, d = x.shape
        h = self.heads
        att = self.attention(x, bias, cos, sin)
        v = self.v(self.norm1(x)).view(b, s, h, d // h).transpose(1, 2)
        x = x + self.o((att @ v).transpose(1, 2).reshape(b, s, d))
        y = self.norm2(x)
        return x + self.down(F.silu(self.gate(y)) * self.up(y))


class TinyVLM(nn.Module):
    def __init__(self, cfg: TinyVLMConfig):
        super().__init__()
        self.patch = nn.Conv2d(3, cfg.vision_dim, cfg.patch_size, cfg.patch_size)
        grid = cfg.image_size // cfg.patch_size
        self.vision_pos = nn.Parameter(torch.randn(1, grid * grid, cfg.vision_dim) * 0.02)
        self.vision_blocks = nn.ModuleList([VisionBlock(cfg.vision_dim, cfg.vision_heads, cfg.mlp_ratio)
                                            for _ in range(cfg.vision_layers)])
        self.vision_norm = nn.LayerNorm(cfg.vision_dim)
        merged = cfg.vision_dim * cfg.merge * cfg.merge
        self.merger_fc1 = nn.Linear(merged, merged)
        self.merger_fc2 = nn.Linear(merged, cfg.hidden_size)
        self.tok_embed = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        # Unit-scale embeddings keep a token's own identity comparable in size to the visual features in the
        # residual stream, as in trained LMs; tiny ones (0.02) would let the image span swamp every position.
        nn.init.normal_(self.tok_embed.weight, std=1.0)
        self.blocks = nn.ModuleList([DecoderBlock(cfg.hidden_size, cfg.lm_heads, cfg.mlp_ratio)
                                     for _ in range(cfg.lm_layers)])
        self.norm = RMSNorm(cfg.hidden_size)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.grid = grid
        self.merge = cfg.merge
        self.head_dim = cfg.hidden_size // cfg.lm_heads
        self.rope_base = 10000.0

    @torch.jit.export
    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        """pixels [B,3,H,W] (normalised) -> V_global [B,T,D] in the LM embedding space."""
        x = self.patch(pixels).flatten(2).transpose(1, 2) + self.vision_pos
        for blk in self.vision_blocks:
            x = blk(x)
        x = self.vision_norm(x)
        b, _, c = x.shape
        g, m = self.grid, self.merge
        # 2x2 neighbourhoods become one token, as Qwen2-VL's patch merger does.
        x = x.view(b, g // m, m, g // m, m, c).permute(0, 1, 3, 2, 4, 5).reshape(b, (g // m) * (g // m), m * m * c)
        return self.merger_fc2(F.gelu(self.merger_fc1(x)))

    @torch.jit.export
    def embed_tokens(self, ids: torch.Tensor) -> torch.Tensor:
        return self.tok_embed(ids)

    def attention_inputs(self, embeds: torch.Tensor, attention_mask: torch.Tensor) -> List[torch.Tensor]:
        """The additive attention bias and rotary cos/sin every decoder block uses.

        attention_mask covers [cached prefix; embeds]: with a prefix of P positions, the queries are the last
        S = embeds.shape[1] positions and the keys all P + S."""
        s = embeds.shape[1]
        positions = mask_positions(attention_mask, s).to(embeds.dtype)
        inv = 1.0 / (self.rope_base ** (torch.arange(0, self.head_dim, 2, device=embeds.device,
                                                      dtype=embeds.dtype) / self.head_dim))
        angles = positions.unsqueeze(-1) * inv  # [B,S,hd/2]
        cos = angles.cos().unsqueeze(1)
        sin = angles.sin().unsqueeze(1)
        bias = causal_bias(attention_mask, s, embeds.dtype)
        return [bias, cos, sin]

    @torch.jit.export
    def prefill(self, embeds: torch.Tensor, attention_mask: torch.Tensor) -> List[torch.Tensor]:
        """Keys and values of every layer for a prefix: [k_0, v_0, k_1, v_1, ...], each [B,H,P,hd]."""
        bias, cos, sin = self.attention_inputs(embeds, attention_mask)
        x = embeds
        out: List[torch.Tensor] = []
        for blk in self.blocks:
            kv = blk.keys_values(x, cos, sin)
            out.append(kv[0])
            out.append(kv[1])
            x = blk(x, bias, cos, sin)
        return out

    @torch.jit.export
    def hidden_states_cached(self, past: List[torch.Tensor], embeds: torch.Tensor,
                             attention_mask: torch.Tensor) -> torch.Tensor:
        """hidden_states of the positions after a prefilled prefix; attention_mask covers prefix + embeds."""
        bias, cos, sin = self.attention_inputs(embeds, attention_mask)
        x = embeds
        i = 0
        for blk in self.blocks:
            x = blk.forward_past(x, past[2 * i], past[2 * i + 1], bias, cos, sin)
            i += 1
        return self.norm(x)

    @torch.jit.export
    def hidden_states(self, embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        bias, cos, sin = self.attention_inputs(embeds, attention_mask)
        x = embeds
        for blk in self.blocks:
            x = blk(x, bias, cos, sin)
        return self.norm(x)

    @torch.jit.export
    def last_attention(self, embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The last decoder layer's attention probabilities [B,H,S,S] (optional bundle method)."""
        bias, cos, sin = self.attention_inputs(embeds, attention_mask)
        x = embeds
        n = len(self.blocks)
        out = torch.zeros(0)
        for i, blk in enumerate(self.blocks):
            if i == n - 1:
                out = blk.attention(x, bias, cos, sin)
            else:
                x = blk(x, bias, cos, sin)
        return out

    @torch.jit.export
    def project_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.lm_head(hidden)

    def forward(self, embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.project_logits(self.hidden_states(embeds, attention_mask))


def script(model: TinyVLM) -> torch.jit.ScriptModule:
    model.eval()
    return torch.jit.script(model)
