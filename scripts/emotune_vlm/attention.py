"""Pieces every emotune decoder shares (the tiny VLM and the exported real architectures), so that masking and
rotary positions mean the same thing in every bundle. All of it is TorchScript-compatible."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def causal_bias(attention_mask: torch.Tensor, queries: int, dtype: torch.dtype) -> torch.Tensor:
    """The additive attention bias [B,1,S,P+S] of the last `queries` = S positions over all P+S keys that
    attention_mask [B,P+S] covers (P > 0 behind a cached prefix): causal, and padded keys masked.

    A padded query row would otherwise see no key at all (softmax over nothing, NaN): it sees itself."""
    b, total = attention_mask.shape
    p = total - queries
    device = attention_mask.device
    q_index = torch.arange(queries, device=device).view(1, queries, 1) + p
    k_index = torch.arange(total, device=device).view(1, 1, total)
    allowed = (k_index <= q_index) & attention_mask.to(torch.bool).view(b, 1, total)
    allowed = allowed | (k_index == q_index)
    bias = torch.zeros(b, 1, queries, total, dtype=dtype, device=device)
    return bias.masked_fill(~allowed.unsqueeze(1), -1e9)


def mask_positions(attention_mask: torch.Tensor, queries: int) -> torch.Tensor:
    """1-D positions [B,S] of the last S positions: cumsum(mask) - 1, so left padding does not shift them."""
    total = attention_mask.shape[1]
    return (attention_mask.cumsum(-1) - 1).clamp(min=0)[:, total - queries:]


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding on the two halves of the head dimension (x1, x2) by angles whose cos/sin have the
    half size; equal to the rotate_half form q*[cos,cos] + rotate_half(q)*[sin,sin] of Hugging Face models."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class VitMlp(nn.Module):
    """A vision transformer block's MLP (Qwen2-VL's and CLIP's alike): fc1, quick-GELU or GELU, fc2."""

    def __init__(self, dim: int, hidden: int, act: str, device: torch.device):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden, device=device)
        self.fc2 = nn.Linear(hidden, dim, device=device)
        self.quick_gelu = act == "quick_gelu"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x)
        h = h * torch.sigmoid(1.702 * h) if self.quick_gelu else F.gelu(h)
        return self.fc2(h)
