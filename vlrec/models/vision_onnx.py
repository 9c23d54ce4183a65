"""The frozen vision encoder's no-grad forward through ONNX Runtime (``vision.backend: onnx``)
or OpenVINO (``vision.backend: openvino``), on the same exported graph.

On the 2-core machines this project targets, ONNX Runtime runs the same graph about as fast as
PyTorch alone at batch 4 and faster at batch 16, and end-to-end indexing 1.7x faster, where
PyTorch's encoder shares torch's thread pool with MiniLM and the decoding thread
(``benchmarks/bench_retrieval.py --only encoders``). The feature extractor is
exported once per set of weights (PyTorch's ONNX exporter) into the cache, keyed by a hash of
the weights, and loaded into an ``InferenceSession`` with as many threads as torch uses. Forwards
that need gradients, other devices and other dtypes stay in PyTorch.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
import warnings

import numpy as np
import torch
from torch import nn

from vlrec.core.runtime import cache_dir


def weights_key(net: nn.Module) -> str:
    """A short hash of every parameter and buffer (random test weights differ run to run)."""
    h = hashlib.sha256()
    for name, t in sorted(net.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


class _Features(nn.Module):
    def __init__(self, net: nn.Module, cut: int):
        super().__init__()
        self.net, self.cut = net, cut

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from vlrec.models.vision import extract

        return extract(self.net, pixels, self.cut)


def export_cached(module: nn.Module, filename: str, inputs: tuple, input_names: list[str],
                  output_names: list[str], dynamic_axes: dict) -> str:  # fmt: skip
    """Path of ``module``'s ONNX graph as ``<cache>/onnx/<filename>``, exported with PyTorch's
    exporter on first use, atomically (a temporary file renamed into place)."""
    folder = cache_dir() / "onnx"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    if path.is_file():
        return str(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes
        torch.onnx.export(
            module.eval(), inputs, str(tmp), dynamo=False, input_names=input_names, output_names=output_names,
            dynamic_axes=dynamic_axes, opset_version=17,
        )  # fmt: skip
    tmp.replace(path)
    return str(path)


def export(net: nn.Module, name: str, size: int, cut: int) -> str:
    """Path of the ONNX graph of :func:`vlrec.models.vision.extract` (the final conv map and
    the activation entering block ``cut``), exported on first use, atomically."""
    axes = {"pixels": {0: "batch"}, "fmap": {0: "batch"}, "mid": {0: "batch"}}
    return export_cached(_Features(net, cut), f"{name}-mid{cut}-{weights_key(net)}.onnx",
                         (torch.zeros(1, 3, size, size),), ["pixels"], ["fmap", "mid"], axes)  # fmt: skip


def _vnni() -> bool:
    """Whether the CPU has VNNI (AVX-512 or AVX) int8 dot products (Linux's /proc/cpuinfo; True
    where it cannot be read)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = f.read()
    except OSError:
        return True
    return "vnni" in flags or "amx_int8" in flags


def quantized(path: str, calibration: np.ndarray) -> str:
    """Path of an int8 copy of the graph at ``path`` (ONNX Runtime's static quantization: QDQ,
    weights per channel, activations uint8 with ranges calibrated on ``calibration`` pixels
    ``[N, 3, H, W]``), made on first use, atomically. Weights are int8, or uint8 on a CPU without
    VNNI, where ONNX Runtime's uint8 × int8 products saturate (features fell to cosine 0.81 of
    fp32's on such a CPU; uint8 weights keep them above 0.97)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    seven = not _vnni()  # u8 weights where the CPU has no VNNI: its u8s8 products saturate
    out = (
        path[: -len(".onnx")]
        + f"-int8-{'u8-' if seven else ''}{hashlib.sha256(calibration.tobytes()).hexdigest()[:8]}.onnx"
    )
    if os.path.isfile(out):
        return out

    class Batches(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"pixels": calibration[i : i + 8]} for i in range(0, len(calibration), 8)])

        def get_next(self):
            return next(self.batches, None)

    tag = f"{os.getpid()}.{threading.get_ident()}"
    pre, tmp = f"{out}.{tag}.pre", f"{out}.{tag}.tmp"
    try:
        quant_pre_process(path, pre)
        quantize_static(pre, tmp, Batches(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QUInt8 if seven else QuantType.QInt8)  # fmt: skip
        os.replace(tmp, out)
    finally:
        for leftover in (pre, tmp):
            if os.path.exists(leftover):
                os.remove(leftover)
    return out


class _OpenVinoSession:
    """``run(feed) -> outputs`` of an ONNX graph compiled by OpenVINO for the CPU, with OpenVINO's
    own default precision there (bf16 on CPUs with AVX-512 BF16 or AMX, fp32 elsewhere); one
    infer request per thread (a compiled model is thread-safe, a request is not)."""

    def __init__(self, path: str, threads: int):
        import openvino as ov

        core = ov.Core()
        self.compiled = core.compile_model(core.read_model(path), "CPU", {"INFERENCE_NUM_THREADS": threads,
                                                                          "PERFORMANCE_HINT": "LATENCY"})  # fmt: skip
        self._local = threading.local()

    def run(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        result = request.infer(feed)
        return [np.array(result[o]) for o in self.compiled.outputs]  # copies: the request reuses its buffers


class _OrtSession:
    """``run(feed) -> outputs`` of an ONNX Runtime session (thread-safe)."""

    def __init__(self, path: str, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def run(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self.session.run(None, feed)


@functools.cache
def resolve_runtime(backend: str) -> str:
    """The runtime a ``backend`` setting runs on: ``auto`` is OpenVINO where it is installed and
    the CPU computes in bf16 natively (AVX-512 BF16 or AMX: faster than ONNX Runtime there, the
    same retrieval quality, docs/benchmarks.md), else ONNX Runtime; ``openvino`` without openvino
    installed warns and is ONNX Runtime. (``torch`` never reaches here.)"""
    if backend not in ("auto", "openvino"):
        return backend
    try:
        import openvino as ov
    except ImportError:
        if backend == "openvino":
            warnings.warn("backend=openvino needs openvino (`pip install openvino`); using ONNX Runtime",
                          stacklevel=3)  # fmt: skip
        return "onnx"
    if backend == "openvino":
        return "openvino"
    return "openvino" if "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES") else "onnx"


def session(path: str, runtime: str = "onnx"):
    """An object with ``run(feed) -> [outputs]`` for the graph at ``path``: ONNX Runtime
    (``onnx``) or OpenVINO (``openvino``, from :func:`resolve_runtime`), with as many threads as
    torch uses. Raises ``ImportError`` when onnxruntime is not installed."""
    threads = max(torch.get_num_threads(), 1)
    if runtime == "openvino":
        return _OpenVinoSession(path, threads)
    try:
        return _OrtSession(path, threads)
    except ImportError:
        raise ImportError("needs onnxruntime; `pip install onnxruntime`") from None


class OnnxFeatures:
    """``pixels [B, 3, H, W] -> (fmap [B, C, h, w], mid [B, C', h', w'])`` with ONNX Runtime or
    OpenVINO; thread-safe."""

    def __init__(self, net: nn.Module, name: str, size: int, cut: int, calibration: np.ndarray | None = None,
                 runtime: str = "onnx"):  # fmt: skip
        path = export(net, name, size, cut)
        if calibration is not None:  # vision.int8
            path = quantized(path, calibration)
        self.session = session(path, runtime)

    def __call__(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = np.ascontiguousarray(pixels.detach().to("cpu", torch.float32).numpy())
        fmap, mid = self.session.run({"pixels": x})
        return torch.from_numpy(fmap), torch.from_numpy(mid)
