"""The core layer: config schema and overrides, runtime (device, dtype, threads, cache), image loading with limits, package paths, the JSON-lines reader, and metrics that need no model."""
