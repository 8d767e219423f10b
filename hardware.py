"""What this machine's hardware offers a run: bf16 matrix units (bf16 autocast where it has them, fp32 elsewhere)
and cores that no other process is using.

bf16 autocast keeps fp32 master weights (what is saved stays fp32) and runs the matrix products in bf16. It pays
only on hardware that computes bf16 natively: a GPU that supports it (Ampere and later), or a CPU with AVX-512 BF16
or AMX-BF16 instructions (Intel Cooper Lake / Sapphire Rapids and later, AMD Zen 4 and later). Elsewhere bf16 is
emulated and slower than fp32, so the default there is fp32. Measured on this project's 2-core CPU (AVX-512 BF16):
BENCHMARKS.md "Training speed" (`benchmarks/training_speed.py`).
"""

import contextlib
import os
import time
from pathlib import Path

import torch

CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of the x86 bf16 dot-product units
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux lists them; empty where /proc/cpuinfo does not exist (macOS, Windows)."""
    try:
        text = CPUINFO.read_text(errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def cpu_name() -> str:
    """The CPU as a timing must name it: lscpu's model name and its bf16 units ('Intel(R) Xeon(R) Processor, AMX' or
    'AMD EPYC 9R14, AVX-512 BF16, no AMX'): the same run takes twice as long on one as on the other."""
    try:
        text = CPUINFO.read_text(errors="replace")
    except OSError:
        return "unknown CPU"
    model = next((line.partition(":")[2].strip() for line in text.splitlines() if line.startswith("model name")),
                 "unknown CPU")
    flags = cpu_flags()
    units = "AMX" if "amx_bf16" in flags else "AVX-512 BF16, no AMX" if "avx512_bf16" in flags else "no bf16 units"
    return f"{model}, {units}, {os.cpu_count()} cores"


def cpu_has_bf16_units() -> bool:
    return any(flag in cpu_flags() for flag in CPU_BF16_FLAGS)


def bf16_pays(device: str | torch.device) -> bool:
    """True where bf16 autocast is native on `device` ('cuda...' or 'cpu'), so faster than fp32."""
    kind = torch.device(device).type
    if kind == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if kind == "cpu":
        return cpu_has_bf16_units()
    return False  # mps, xpu, ...: not measured here, fp32


def autocast(device: str | torch.device, enabled: bool):
    """bf16 autocast on `device` when `enabled`, else a no-op context."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def cores_used_by_others(seconds: float = 0.5) -> tuple[float, list[str]]:
    """(cores' worth of CPU time that other processes used over `seconds`, the busiest of them as 'name (N%)').
    A thread of a run that shares its core with another busy process gets part of that core, and every parallel
    region waits for it at its barrier: measured on this project's 2-core CPU with one core busy, a bf16 training
    step took 3.1x as long on 2 threads and 1.5x on 1 (BENCHMARKS.md "Training speed")."""
    import psutil

    mine = {os.getpid(), os.getppid(), *(child.pid for child in psutil.Process().children(recursive=True))}
    processes = [p for p in psutil.process_iter(["name"]) if p.pid not in mine]
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.cpu_percent(None)
    time.sleep(seconds)
    used = []
    for process in processes:
        with contextlib.suppress(psutil.Error):
            used.append((process.cpu_percent(None), process.info["name"]))
    busy = sorted((u for u in used if u[0] >= 5), reverse=True)
    return sum(percent for percent, _ in used) / 100, [f"{name} ({percent:.0f}%)" for percent, name in busy[:5]]
