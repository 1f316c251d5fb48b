"""Six stock nn.MultiheadAttention blocks timed from PyTorch itself, on the GPU machine: the cross-check of the C++
benchmark's stock column (bench/bench_fused_attention.cpp; docs/benchmarks.md). Run: python3 bench/stock_attention_reference.py"""
import time, torch
torch.backends.cuda.matmul.allow_tf32 = False
for dtype in (torch.bfloat16, torch.float32):
    blocks = [torch.nn.MultiheadAttention(3584, 1).cuda().to(dtype) for _ in range(6)]
    q = torch.randn(5, 3584, device="cuda", dtype=dtype)
    for t, b in ((256, 1), (256, 8), (1024, 32)):
        kv = torch.randn(t, b, 3584, device="cuda", dtype=dtype)
        with torch.no_grad():
            def run():
                for m in blocks:
                    m(q.unsqueeze(1).expand(5, b, 3584), kv, kv, need_weights=False)
            run(); torch.cuda.synchronize(); t0 = time.perf_counter()
            for _ in range(20): run()
            torch.cuda.synchronize()
        print(f"python stock {dtype} T {t} B {b}: {(time.perf_counter() - t0) / 20 * 1e3:.3f} ms")
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16); torch.cuda.synchronize(); t0 = time.perf_counter()
for _ in range(10): a @ a
torch.cuda.synchronize(); print(f"bf16 8192^3 matmul: {10 * 2 * 8192**3 / (time.perf_counter() - t0) / 1e12:.0f} TFLOP/s")
