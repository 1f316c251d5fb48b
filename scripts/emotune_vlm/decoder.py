"""The decoder-only language model of the exported real architectures (Qwen2 in Qwen2-VL, Mistral in
LLaVA-NeXT), TorchScript-able, with Hugging Face's tensor names under `model.` and `lm_head.`: GQA attention
(q/k/v biases for Qwen2, none for Mistral), RMSNorm, SwiGLU, rotary positions. Checked against HF's own classes on
random-init models (tests/fixtures/qwen2_vl_*, tests/fixtures/llava_next_*; docs/models.md).

Rotary positions are M-RoPE (Qwen2-VL paper Sec. 2.1): the frequencies are cut into `mrope_section` runs, run i
driven by position axis i (t, h, w). A 1-D RoPE model (Mistral) is the case of one run, [head_dim/2, 0, 0],
with all three axes equal: its positions are cumsum(mask) - 1, as HF's (to 1.5e-7, ../shared/hf-reference).

CausalLM carries the bundle contract's decoder methods (docs/bundle.md): embed_tokens, hidden_states,
project_logits, prefill, hidden_states_cached, last_attention, forward. position_ids [3,B,S] is an optional last
argument of each; without it positions are cumsum(mask) - 1 on all three axes.
"""
import math
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .attention import causal_bias, mask_positions, rotate


class DecoderShape:
    """What the decoder modules read from a config; the architectures' shapes fill it in."""
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    rms_eps: float
    rope_theta: float
    mrope_section: List[int]
    qkv_bias: bool
    tied: bool


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float, device: torch.device):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim, device=device))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


class Attention(nn.Module):
    def __init__(self, s: DecoderShape, device: torch.device):
        super().__init__()
        self.q_proj = nn.Linear(s.hidden, s.heads * s.head_dim, bias=s.qkv_bias, device=device)
        self.k_proj = nn.Linear(s.hidden, s.kv_heads * s.head_dim, bias=s.qkv_bias, device=device)
        self.v_proj = nn.Linear(s.hidden, s.kv_heads * s.head_dim, bias=s.qkv_bias, device=device)
        self.o_proj = nn.Linear(s.heads * s.head_dim, s.hidden, bias=False, device=device)
        self.heads, self.kv_heads, self.head_dim = s.heads, s.kv_heads, s.head_dim

    def keys_values(self, y: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> List[torch.Tensor]:
        """Rotated keys and values [B,Hkv,S,hd] of the normed input y: what a prefix cache keeps."""
        b, s, _ = y.shape
        k = rotate(self.k_proj(y).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2), cos, sin)
        v = self.v_proj(y).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2)
        return [k, v]

    def probabilities(self, y: torch.Tensor, k: torch.Tensor, bias: torch.Tensor, cos: torch.Tensor,
                      sin: torch.Tensor) -> torch.Tensor:
        b, s, _ = y.shape
        q = rotate(self.q_proj(y).view(b, s, self.heads, self.head_dim).transpose(1, 2), cos, sin)
        k = k.repeat_interleave(self.heads // self.kv_heads, dim=1)  # GQA: each kv head serves a group
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim) + bias
        return torch.softmax(scores, dim=-1, dtype=torch.float32).to(y.dtype)

    def forward(self, y: torch.Tensor, past_k: Optional[torch.Tensor], past_v: Optional[torch.Tensor],
                bias: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> List[torch.Tensor]:
        """[output, this call's keys, values] (the keys/values what prefill caches)."""
        b, s, _ = y.shape
        kv = self.keys_values(y, cos, sin)
        k, v = kv[0], kv[1]
        if past_k is not None and past_v is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
        att = self.probabilities(y, k, bias, cos, sin)
        out = att @ v.repeat_interleave(self.heads // self.kv_heads, dim=1)
        return [self.o_proj(out.transpose(1, 2).reshape(b, s, self.heads * self.head_dim)), kv[0], kv[1]]


class Mlp(nn.Module):
    def __init__(self, s: DecoderShape, device: torch.device):
        super().__init__()
        self.gate_proj = nn.Linear(s.hidden, s.intermediate, bias=False, device=device)
        self.up_proj = nn.Linear(s.hidden, s.intermediate, bias=False, device=device)
        self.down_proj = nn.Linear(s.intermediate, s.hidden, bias=False, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, s: DecoderShape, device: torch.device):
        super().__init__()
        self.input_layernorm = RMSNorm(s.hidden, s.rms_eps, device)
        self.self_attn = Attention(s, device)
        self.post_attention_layernorm = RMSNorm(s.hidden, s.rms_eps, device)
        self.mlp = Mlp(s, device)

    def forward(self, x: torch.Tensor, past_k: Optional[torch.Tensor], past_v: Optional[torch.Tensor],
                bias: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> List[torch.Tensor]:
        """[output, keys, values] of this layer's new positions."""
        att = self.self_attn(self.input_layernorm(x), past_k, past_v, bias, cos, sin)
        x = x + att[0]
        return [x + self.mlp(self.post_attention_layernorm(x)), att[1], att[2]]


class Decoder(nn.Module):
    def __init__(self, s: DecoderShape, device: torch.device):
        super().__init__()
        self.embed_tokens = nn.Embedding(s.vocab, s.hidden, device=device)
        self.layers = nn.ModuleList([DecoderLayer(s, device) for _ in range(s.layers)])
        self.norm = RMSNorm(s.hidden, s.rms_eps, device)


class CausalLM(nn.Module):
    """The decoder and its head, with the contract's decoder methods. Subclasses and owners add the vision side."""

    def __init__(self, s: DecoderShape, device: torch.device = torch.device("cpu")):
        super().__init__()
        self.model = Decoder(s, device)
        self.lm_head = nn.Linear(s.hidden, s.vocab, bias=False, device=device)
        self.head_dim = s.head_dim
        self.rope_theta = s.rope_theta
        self.mrope_section: List[int] = s.mrope_section

    def rotary(self, position_ids: torch.Tensor, dtype: torch.dtype) -> List[torch.Tensor]:
        """cos/sin [B,1,S,hd/2] of position_ids [3,B,S], in fp32 as HF computes them (not from buffers: the C++
        loader casts a module's buffers to the run's dtype, and bf16 cannot hold positions above 256).

        M-RoPE (Qwen2-VL Sec. 2.1): the rotary frequencies are cut into mrope_section runs ([16, 24, 24] for
        7B); run i takes its angles from position axis i (t, h, w)."""
        hd = self.head_dim
        inv = 1.0 / (self.rope_theta ** (torch.arange(0, hd, 2, dtype=torch.float32, device=position_ids.device) / hd))
        freqs = position_ids.float().unsqueeze(-1) * inv  # [3,B,S,hd/2]
        runs: List[torch.Tensor] = []
        start = 0
        for axis, n in enumerate(self.mrope_section):
            runs.append(freqs[axis, :, :, start:start + n])
            start += n
        angles = torch.cat(runs, dim=-1)
        return [angles.cos().unsqueeze(1).to(dtype), angles.sin().unsqueeze(1).to(dtype)]

    def decoder_inputs(self, embeds: torch.Tensor, attention_mask: torch.Tensor,
                       position_ids: Optional[torch.Tensor]) -> List[torch.Tensor]:
        s = embeds.shape[1]
        if position_ids is None:
            position_ids = mask_positions(attention_mask, s).unsqueeze(0).expand(3, -1, -1)
        cs = self.rotary(position_ids.to(embeds.device), embeds.dtype)
        return [causal_bias(attention_mask, s, embeds.dtype), cs[0], cs[1]]

    @torch.jit.export
    def embed_tokens(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model.embed_tokens(ids)

    def run_layers(self, past: List[torch.Tensor], embeds: torch.Tensor, attention_mask: torch.Tensor,
                   position_ids: Optional[torch.Tensor]) -> torch.Tensor:
        """Final normed hidden states of embeds; `past` is prefill's [k_0, v_0, ...] or empty (no prefix)."""
        bias, cos, sin = self.decoder_inputs(embeds, attention_mask, position_ids)
        x = embeds
        i = 0
        for layer in self.model.layers:
            past_k: Optional[torch.Tensor] = None
            past_v: Optional[torch.Tensor] = None
            if len(past) > 0:
                past_k, past_v = past[2 * i], past[2 * i + 1]
            x = layer(x, past_k, past_v, bias, cos, sin)[0]
            i += 1
        return self.model.norm(x)

    @torch.jit.export
    def hidden_states(self, embeds: torch.Tensor, attention_mask: torch.Tensor,
                      position_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.run_layers([], embeds, attention_mask, position_ids)

    @torch.jit.export
    def project_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.lm_head(hidden)

    @torch.jit.export
    def prefill(self, embeds: torch.Tensor, attention_mask: torch.Tensor,
                position_ids: Optional[torch.Tensor] = None) -> List[torch.Tensor]:
        """[k_0, v_0, k_1, v_1, ...], each [B,Hkv,P,hd] (rotated keys, before the GQA repeat)."""
        bias, cos, sin = self.decoder_inputs(embeds, attention_mask, position_ids)
        x = embeds
        out: List[torch.Tensor] = []
        for layer in self.model.layers:
            r = layer(x, None, None, bias, cos, sin)
            out.append(r[1])
            out.append(r[2])
            x = r[0]
        return out

    @torch.jit.export
    def hidden_states_cached(self, past: List[torch.Tensor], embeds: torch.Tensor, attention_mask: torch.Tensor,
                             position_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Positions after a prefilled prefix; attention_mask covers prefix + embeds, position_ids the new ones."""
        return self.run_layers(past, embeds, attention_mask, position_ids)

    @torch.jit.export
    def last_attention(self, embeds: torch.Tensor, attention_mask: torch.Tensor,
                       position_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The last decoder layer's attention probabilities [B,H,S,S] (query row, key column)."""
        bias, cos, sin = self.decoder_inputs(embeds, attention_mask, position_ids)
        x = embeds
        n = len(self.model.layers)
        out = torch.zeros(0)
        i = 0
        for layer in self.model.layers:
            if i == n - 1:
                y = layer.input_layernorm(x)
                k = layer.self_attn.keys_values(y, cos, sin)[0]
                out = layer.self_attn.probabilities(y, k, bias, cos, sin)
            else:
                x = layer(x, None, None, bias, cos, sin)[0]
            i += 1
        return out

    def forward(self, embeds: torch.Tensor, attention_mask: torch.Tensor,
                position_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.project_logits(self.hidden_states(embeds, attention_mask, position_ids))
