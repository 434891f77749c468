// landcover-bench: measures the CNN engine's throughput on ONNX files.
// Usage is printed by benchmarks/engine.py; see README, "Performance".
print("landcover-bench: no benchmark selected")
