"""LLaVA-NeXT (LLaVA-v1.6; Hugging Face's LlavaNextForConditionalGeneration) as TorchScript-able modules of
emotune's bundle contract (docs/bundle.md), with the checkpoint's own tensor names, for one fixed image
resolution equal to one of the checkpoint's grid pinpoints. Checked against transformers 4.45's class on
random-init models: tests/fixtures/llava_next_*/ and docs/models.md.

Vision (LLaVA-NeXT "AnyRes"; HF pack_image_features):
  - the image at the bundle's resolution H x W (a pinpoint) is cut into (H/tile) x (W/tile) tiles, row-major,
    and a base view: the whole image resized to one tile (HF's processor resizes the original with PIL bicubic;
    here torch's antialiased bicubic on the normalised image, which commutes with the per-channel normalisation);
  - CLIP ViT on [base, tiles...]: the hidden states after `vision_feature_layer` (-2: the penultimate layer's
    output, so the last layer and post_layernorm are not used), the CLS token dropped ("default" strategy);
  - the projector (linear, GELU, linear) into the LM's width;
  - the tiles' features re-assembled into one (nH*h) x (nW*w) grid; unpadding is a no-op at a pinpoint (the
    exporter checks HF's arithmetic); `image_newline` appended to every grid row; base features first.
  T = h*w + nH*h * (nW*w + 1), h = w = tile/patch: 672x672 with 336-pixel tiles of 14-pixel patches -> 2,928.
Decoder: Mistral (decoder.py: GQA, RMSNorm, SwiGLU, no q/k/v biases, 1-D RoPE with the config's theta).
"""
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .attention import VitMlp
from .decoder import CausalLM

# Class defaults of MistralConfig and CLIPVisionConfig (transformers 4.45) for keys save_pretrained leaves out.
MISTRAL_DEFAULTS = dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                        num_attention_heads=32, num_key_value_heads=8, hidden_act="silu", rms_norm_eps=1e-6,
                        rope_theta=10000.0, sliding_window=4096, tie_word_embeddings=False)
CLIP_DEFAULTS = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                     num_channels=3, image_size=224, patch_size=32, hidden_act="quick_gelu", layer_norm_eps=1e-5)
PINPOINTS = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]  # LlavaNextConfig's default
# Text positions emotune adds around the image (chat markers, question, soft prompt, aspect tokens, answer):
# a sliding window at least T + this long never cuts a sequence emotune builds.
TEXT_MARGIN = 1024


def best_resolution(height: int, width: int, pinpoints: List[List[int]]) -> List[int]:
    """The pinpoint HF's processor picks for an image of this size: the largest effective (downscaled)
    resolution, then the least wasted area, the first in list order on a tie."""
    best, best_effective, best_waste = None, -1, None
    for h, w in pinpoints:
        scale = min(w / width, h / height)
        effective = min(int(width * scale) * int(height * scale), width * height)
        waste = w * h - effective
        if effective > best_effective or (effective == best_effective and waste < best_waste):
            best, best_effective, best_waste = [h, w], effective, waste
    return best


def unpad_is_a_no_op(height: int, width: int, grid_h: int, grid_w: int) -> bool:
    """HF's unpad_image on a grid_h x grid_w feature map of an image of height x width keeps every column/row."""
    if width / height > grid_w / grid_h:
        kept = int(height * (grid_w / width))
        return (grid_h - kept) // 2 == 0
    kept = int(width * (grid_h / height))
    return (grid_w - kept) // 2 == 0


class LlavaNextShape:
    """Everything the modules need from config.json (class defaults where a key is absent). Raises
    KeyError/ValueError naming the key."""

    def __init__(self, config: dict, image_height: int, image_width: int):
        t = dict(MISTRAL_DEFAULTS, **(config.get("text_config") or {}))
        v = dict(CLIP_DEFAULTS, **(config.get("vision_config") or {}))
        if t.get("model_type", "mistral") != "mistral":
            raise ValueError(f"text_config.model_type '{t.get('model_type')}' is not supported (mistral)")
        if v.get("model_type", "clip_vision_model") != "clip_vision_model":
            raise ValueError(f"vision_config.model_type '{v.get('model_type')}' is not supported (clip_vision_model)")
        self.hidden = int(t["hidden_size"])
        self.layers = int(t["num_hidden_layers"])
        self.heads = int(t["num_attention_heads"])
        self.kv_heads = int(t.get("num_key_value_heads") or self.heads)
        self.intermediate = int(t["intermediate_size"])
        self.vocab = int(t["vocab_size"])
        self.rms_eps = float(t["rms_norm_eps"])
        self.rope_theta = float(t["rope_theta"])
        self.tied = bool(t.get("tie_word_embeddings", False))
        self.qkv_bias = False
        self.sliding_window = t.get("sliding_window")
        if t.get("rope_scaling"):
            raise ValueError(f"text_config.rope_scaling {t['rope_scaling']} is not supported (plain RoPE only)")
        if t["hidden_act"] != "silu" or v["hidden_act"] not in ("quick_gelu", "gelu"):
            raise ValueError(f"unsupported activations: text_config.hidden_act {t['hidden_act']}, "
                             f"vision_config.hidden_act {v['hidden_act']}")
        for name, value in (("text_config.hidden_size", self.hidden), ("text_config.num_attention_heads", self.heads),
                            ("text_config.num_key_value_heads", self.kv_heads), ("text_config.num_hidden_layers", self.layers)):
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        self.head_dim = int(t.get("head_dim") or self.hidden // self.heads)
        if self.heads % self.kv_heads or (not t.get("head_dim") and self.hidden % self.heads):
            raise ValueError(f"text_config.num_attention_heads {self.heads} must divide hidden_size {self.hidden} and "
                             f"be a multiple of num_key_value_heads {self.kv_heads}")
        self.mrope_section = [self.head_dim // 2, 0, 0]  # 1-D RoPE: one run driven by the (equal) axes

        self.vision_dim = int(v["hidden_size"])
        self.vision_mlp = int(v["intermediate_size"])
        self.vision_heads = int(v["num_attention_heads"])
        self.vision_layers = int(v["num_hidden_layers"])
        self.vision_act = str(v["hidden_act"])
        self.vision_eps = float(v["layer_norm_eps"])
        self.in_channels = int(v["num_channels"])
        self.tile, self.patch = int(v["image_size"]), int(v["patch_size"])
        if self.vision_dim % self.vision_heads or self.tile % self.patch:
            raise ValueError(f"vision_config: hidden_size {self.vision_dim} must divide by num_attention_heads "
                             f"{self.vision_heads}, image_size {self.tile} by patch_size {self.patch}")
        layer = int(config.get("vision_feature_layer", -2))
        self.feature_layers = layer if layer >= 0 else self.vision_layers + 1 + layer  # encoder layers to run
        if not 0 <= self.feature_layers <= self.vision_layers:
            raise ValueError(f"vision_feature_layer {layer} is outside the {self.vision_layers}-layer vision tower")
        strategy = config.get("vision_feature_select_strategy", "default")
        if strategy != "default":
            raise ValueError(f"vision_feature_select_strategy '{strategy}' is not supported (default: CLS dropped; "
                             f"HF's anyres packing needs it)")
        if config.get("projector_hidden_act", "gelu") != "gelu":
            raise ValueError(f"projector_hidden_act '{config.get('projector_hidden_act')}' is not supported (gelu)")
        self.image_token = int(config.get("image_token_index", 32000))
        self.pinpoints = [[int(a), int(b)] for a, b in (config.get("image_grid_pinpoints") or PINPOINTS)]
        self.check_resolution(image_height, image_width)

    def check_resolution(self, height: int, width: int) -> None:
        if [height, width] not in self.pinpoints:
            raise ValueError(f"--image-size {height}x{width} is not one of image_grid_pinpoints "
                             f"{['x'.join(map(str, p)) for p in self.pinpoints]} (anyres is exported at a pinpoint)")
        if best_resolution(height, width, self.pinpoints) != [height, width]:
            raise ValueError(f"--image-size {height}x{width}: HF's processor would pick "
                             f"{best_resolution(height, width, self.pinpoints)} for an image of that size")
        self.grid_h, self.grid_w = height // self.tile, width // self.tile
        side = self.tile // self.patch
        if height % self.tile or width % self.tile or not unpad_is_a_no_op(height, width, self.grid_h * side, self.grid_w * side):
            raise ValueError(f"--image-size {height}x{width} does not tile by image_size {self.tile} without unpadding")
        self.image_height, self.image_width = height, width

    @property
    def side(self) -> int:
        return self.tile // self.patch

    @property
    def visual_tokens(self) -> int:
        s = self.side
        return s * s + self.grid_h * s * (self.grid_w * s + 1)


class ClipEmbeddings(nn.Module):
    def __init__(self, s: LlavaNextShape, device: torch.device):
        super().__init__()
        self.patch_embedding = nn.Conv2d(s.in_channels, s.vision_dim, s.patch, stride=s.patch, bias=False, device=device)
        self.class_embedding = nn.Parameter(torch.zeros(s.vision_dim, device=device))
        self.position_embedding = nn.Embedding(s.side * s.side + 1, s.vision_dim, device=device)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = self.patch_embedding(pixels.to(self.patch_embedding.weight.dtype)).flatten(2).transpose(1, 2)
        cls = self.class_embedding.view(1, 1, -1).expand(x.shape[0], 1, x.shape[2])
        return torch.cat([cls, x], dim=1) + self.position_embedding.weight.unsqueeze(0)


class ClipAttention(nn.Module):
    def __init__(self, s: LlavaNextShape, device: torch.device):
        super().__init__()
        d = s.vision_dim
        self.q_proj = nn.Linear(d, d, device=device)
        self.k_proj = nn.Linear(d, d, device=device)
        self.v_proj = nn.Linear(d, d, device=device)
        self.out_proj = nn.Linear(d, d, device=device)
        self.heads = s.vision_heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        hd = d // self.heads
        q = self.q_proj(x).view(b, n, self.heads, hd).transpose(1, 2) * (hd ** -0.5)
        k = self.k_proj(x).view(b, n, self.heads, hd).transpose(1, 2)
        v = self.v_proj(x).view(b, n, self.heads, hd).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
        return self.out_proj((att @ v).transpose(1, 2).reshape(b, n, d))


class ClipLayer(nn.Module):
    def __init__(self, s: LlavaNextShape, device: torch.device):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(s.vision_dim, eps=s.vision_eps, device=device)
        self.self_attn = ClipAttention(s, device)
        self.layer_norm2 = nn.LayerNorm(s.vision_dim, eps=s.vision_eps, device=device)
        self.mlp = VitMlp(s.vision_dim, s.vision_mlp, s.vision_act, device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class ClipEncoder(nn.Module):
    def __init__(self, s: LlavaNextShape, device: torch.device):
        super().__init__()
        self.layers = nn.ModuleList([ClipLayer(s, device) for _ in range(s.feature_layers)])


class ClipVisionModel(nn.Module):
    """CLIPVisionTransformer up to the feature layer: embeddings, pre_layrnorm (sic, HF's name), encoder layers."""

    def __init__(self, s: LlavaNextShape, device: torch.device):
        super().__init__()
        self.embeddings = ClipEmbeddings(s, device)
        self.pre_layrnorm = nn.LayerNorm(s.vision_dim, eps=s.vision_eps, device=device)
        self.encoder = ClipEncoder(s, device)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = self.pre_layrnorm(self.embeddings(pixels))
        for layer in self.encoder.layers:
            x = layer(x)
        return x


class ClipTower(nn.Module):
    def __init__(self, s: LlavaNextShape, device: torch.device):
        super().__init__()
        self.vision_model = ClipVisionModel(s, device)


class Projector(nn.Module):
    def __init__(self, s: LlavaNextShape, device: torch.device):
        super().__init__()
        self.linear_1 = nn.Linear(s.vision_dim, s.hidden, device=device)
        self.linear_2 = nn.Linear(s.hidden, s.hidden, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(F.gelu(self.linear_1(x)))


class LlavaNextBundleModel(nn.Module):
    """The bundle's vlm.pt (docs/bundle.md), names as the checkpoint's: vision_tower., multi_modal_projector.,
    image_newline, language_model.model., language_model.lm_head."""

    def __init__(self, s: LlavaNextShape, device: torch.device = torch.device("cpu")):
        super().__init__()
        self.vision_tower = ClipTower(s, device)
        self.multi_modal_projector = Projector(s, device)
        self.image_newline = nn.Parameter(torch.zeros(s.hidden, device=device))
        self.language_model = CausalLM(s, device)
        self.tile, self.grid_h, self.grid_w, self.side = s.tile, s.grid_h, s.grid_w, s.side

    def base_view(self, pixels: torch.Tensor) -> torch.Tensor:
        """The whole image as one tile (the base view): antialiased bicubic, in fp32."""
        return F.interpolate(pixels.float(), size=[self.tile, self.tile], mode="bicubic", align_corners=False,
                             antialias=True).to(pixels.dtype)

    @torch.jit.export
    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        """pixels [B,3,H,W] (resized to the bundle's pinpoint, rescaled, normalised) -> [B,T,D] in HF's packing."""
        b, t, nh, nw, side = pixels.shape[0], self.tile, self.grid_h, self.grid_w, self.side
        tiles = pixels.view(b, 3, nh, t, nw, t).permute(0, 2, 4, 1, 3, 5).reshape(b, nh * nw, 3, t, t)
        views = torch.cat([self.base_view(pixels).unsqueeze(1), tiles], dim=1).reshape(b * (nh * nw + 1), 3, t, t)
        hidden = self.vision_tower.vision_model(views)[:, 1:]  # CLS dropped ("default")
        f = self.multi_modal_projector(hidden)
        d = f.shape[-1]
        f = f.view(b, nh * nw + 1, side * side, d)
        grid = f[:, 1:].reshape(b, nh, nw, side, side, d).permute(0, 1, 3, 2, 4, 5).reshape(b, nh * side, nw * side, d)
        newline = self.image_newline.to(grid.dtype).view(1, 1, 1, d).expand(b, nh * side, 1, d)
        rows = torch.cat([grid, newline], dim=2).reshape(b, nh * side * (nw * side + 1), d)
        return torch.cat([f[:, 0], rows], dim=1)

    @torch.jit.export
    def embed_tokens(self, ids: torch.Tensor) -> torch.Tensor:
        return self.language_model.embed_tokens(ids)

    @torch.jit.export
    def hidden_states(self, embeds: torch.Tensor, attention_mask: torch.Tensor,
                      position_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.language_model.hidden_states(embeds, attention_mask, position_ids)

    @torch.jit.export
    def project_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.language_model.project_logits(hidden)

    @torch.jit.export
    def prefill(self, embeds: torch.Tensor, attention_mask: torch.Tensor,
                position_ids: Optional[torch.Tensor] = None) -> List[torch.Tensor]:
        return self.language_model.prefill(embeds, attention_mask, position_ids)

    @torch.jit.export
    def hidden_states_cached(self, past: List[torch.Tensor], embeds: torch.Tensor, attention_mask: torch.Tensor,
                             position_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.language_model.hidden_states_cached(past, embeds, attention_mask, position_ids)

    @torch.jit.export
    def last_attention(self, embeds: torch.Tensor, attention_mask: torch.Tensor,
                       position_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.language_model.last_attention(embeds, attention_mask, position_ids)

    def forward(self, embeds: torch.Tensor, attention_mask: torch.Tensor,
                position_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.language_model.forward(embeds, attention_mask, position_ids)
