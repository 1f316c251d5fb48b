"""The safetensors file format (8-byte little-endian header length, a JSON header, raw little-endian data),
read and written with Debian's python3-torch alone: Debian 12 has no python3-safetensors.

Reading memory-maps the file (copy-on-write, so torch may wrap the pages without a copy): a tensor costs RAM
only when its pages are touched, and a model is never held twice. Every error names the file."""
import json
import mmap
import os
import struct
from typing import Dict, Iterator, List, Tuple

import torch

DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
          "BOOL": torch.bool}
NAMES = {v: k for k, v in DTYPES.items()}


class SafetensorsFile:
    """One .safetensors file, memory-mapped. tensor(name) returns a CPU tensor viewing the mapped pages."""

    def __init__(self, path: str):
        self.path = path
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) != 8:
                raise ValueError(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
            (n,) = struct.unpack("<Q", head)
            size = os.fstat(f.fileno()).st_size
            if n > size - 8:
                raise ValueError(f"{path}: header length {n} exceeds the file size {size}")
            try:
                header = json.loads(f.read(n))
            except ValueError as e:
                raise ValueError(f"{path}: the header is not JSON ({e})") from None
            if not isinstance(header, dict):
                raise ValueError(f"{path}: the header is not a JSON object")
            self.metadata: Dict[str, str] = header.pop("__metadata__", None) or {}
            self.entries: Dict[str, dict] = header
            self.data_start = 8 + n
            self.map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY) if size > 0 else None
        for name, e in self.entries.items():
            if not isinstance(e, dict) or not isinstance(e.get("shape"), list) or \
                    not isinstance(e.get("data_offsets"), list) or len(e["data_offsets"]) != 2:
                raise ValueError(f"{path}: tensor '{name}' lacks a shape list or a [begin, end] data_offsets pair")
            if e.get("dtype") not in DTYPES:
                raise ValueError(f"{path}: tensor '{name}' has dtype {e.get('dtype')}, expected one of {sorted(DTYPES)}")
            begin, end = e["data_offsets"]
            count = 1
            for d in e["shape"]:
                count *= d
            if end - begin != count * torch.empty(0, dtype=DTYPES[e["dtype"]]).element_size() or \
                    self.data_start + end > size:
                raise ValueError(f"{path}: tensor '{name}' has offsets {e['data_offsets']} that do not fit its "
                                 f"shape {e['shape']} and dtype {e['dtype']} inside the file")

        at = 0  # the ranges must tile the data section: no aliasing, no hole, nothing after the last
        for begin, end, name in sorted((e["data_offsets"][0], e["data_offsets"][1], n) for n, e in self.entries.items()):
            if begin != at:
                raise ValueError(f"{path}: tensor '{name}' starts at byte {begin} of the data section, expected {at} "
                                 f"({'an overlap' if begin < at else 'a gap'})")
            at = end
        if self.data_start + at != size:
            raise ValueError(f"{path}: {size - self.data_start - at} bytes after the last tensor")

    def names(self) -> List[str]:
        return list(self.entries)

    def shape(self, name: str) -> Tuple[int, ...]:
        return tuple(self.entries[name]["shape"])

    def tensor(self, name: str) -> torch.Tensor:
        if name not in self.entries:
            raise KeyError(f"{self.path}: no tensor '{name}'")
        e = self.entries[name]
        dtype = DTYPES[e["dtype"]]
        begin, end = e["data_offsets"]
        if end == begin:
            return torch.empty(e["shape"], dtype=dtype)
        flat = torch.frombuffer(self.map, dtype=torch.uint8, count=end - begin, offset=self.data_start + begin)
        return flat.view(dtype).view(e["shape"])


def open_checkpoint(directory: str) -> Iterator[Tuple[str, SafetensorsFile]]:
    """(tensor name, file) for every tensor of a Hugging Face checkpoint directory: model.safetensors, or the
    shards named by model.safetensors.index.json (every shard it names must exist and hold its tensors)."""
    index = os.path.join(directory, "model.safetensors.index.json")
    single = os.path.join(directory, "model.safetensors")
    if os.path.exists(index):
        with open(index) as f:
            try:
                content = json.load(f)
            except ValueError as e:
                raise ValueError(f"{index}: not valid JSON ({e})") from None
        weight_map = content.get("weight_map") if isinstance(content, dict) else None
        if not isinstance(weight_map, dict):
            raise ValueError(f"{index}: expected an object with a 'weight_map' of tensor name -> shard file")
        files: Dict[str, SafetensorsFile] = {}
        for name, shard in sorted(weight_map.items()):
            if shard not in files:
                path = os.path.join(directory, shard)
                if not os.path.exists(path):
                    raise ValueError(f"{index}: shard '{shard}' (for tensor '{name}') not found in {directory}")
                files[shard] = SafetensorsFile(path)
            if name not in files[shard].entries:
                raise ValueError(f"{index}: names '{name}' in {shard}, which does not hold it")
            yield name, files[shard]
        for shard, f in files.items():  # every tensor of a shard must be listed, or it would go unused
            unlisted = sorted(set(f.entries) - {n for n, s in weight_map.items() if s == shard})
            if unlisted:
                raise ValueError(f"{f.path}: holds tensor(s) {unlisted[:5]} that {index} does not list")
    elif os.path.exists(single):
        f = SafetensorsFile(single)
        for name in f.names():
            yield name, f
    else:
        raise ValueError(f"{directory}: no model.safetensors or model.safetensors.index.json (a Hugging Face "
                         f"checkpoint directory saved with safetensors is expected)")


def write_safetensors(path: str, tensors: Dict[str, torch.Tensor], metadata: Dict[str, str]) -> None:
    """Writes atomically (a temporary file renamed into place); tensors of other dtypes become F32."""
    header, offset = {"__metadata__": metadata}, 0
    prepared = []
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        if t.dtype not in NAMES:
            t = t.float()
        nbytes = t.numel() * t.element_size()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
        prepared.append(t)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - (len(text) + 8) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for t in prepared:
            if t.numel():
                f.write(t.view(-1).view(torch.uint8).numpy().tobytes())
    os.replace(path + ".tmp", path)
