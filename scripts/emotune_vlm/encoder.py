"""The tokenizer of the pretraining recipe and its probes (scripts/pretrain_tiny_vlm.py, docs/experiments)."""
import subprocess


class Encoder:
    """Token ids as emotune's C++ tokenizer produces them. Debian has no sentencepiece Python binding, so
    spm_encode encodes everything in one call. It reads line by line; a newline is never inside a piece (the
    training text has none, so it is always the byte-fallback token <0x0A>), hence encoding the segments
    between newlines and joining them with <0x0A> gives the ids of the whole string."""

    def __init__(self, model_path, newline_id):
        self.model_path = model_path
        self.newline_id = newline_id
        self.cache = {}

    def _encode_lines(self, lines):
        pending = sorted({t for t in lines if t not in self.cache})
        if pending:
            res = subprocess.run(["spm_encode", f"--model={self.model_path}", "--output_format=id"],
                                 input=("\n".join(pending) + "\n").encode(), stdout=subprocess.PIPE, check=True)
            for t, line in zip(pending, res.stdout.decode().split("\n")):
                self.cache[t] = [int(x) for x in line.split()]

    def encode_many(self, texts):
        self._encode_lines([seg for t in texts for seg in t.split("\n") if seg])
        out = []
        for t in texts:
            ids = []
            for k, seg in enumerate(t.split("\n")):
                if k:
                    ids.append(self.newline_id)
                if seg:
                    ids.extend(self.cache[seg])
            out.append(ids)
        return out
