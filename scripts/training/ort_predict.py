#!/usr/bin/env python3
"""Runs an ONNX model in onnxruntime on one .npy input and writes its first output as .npy.

Used by the Training tests (interop of exported networks): onnx.checker validates the model,
onnxruntime runs it on the CPU with one intra-op thread, and the output is saved as float32.

Usage: python3 scripts/training/ort_predict.py MODEL.onnx INPUT.npy OUTPUT.npy
"""
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main(argv):
    if len(argv) != 4:
        sys.exit("usage: ort_predict.py MODEL.onnx INPUT.npy OUTPUT.npy")
    model_path, input_path, output_path = argv[1:]
    onnx.checker.check_model(onnx.load(model_path), full_check=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    inputs = np.load(input_path).astype(np.float32)
    (output,) = session.run([session.get_outputs()[0].name], {session.get_inputs()[0].name: inputs})
    np.save(output_path, output.astype(np.float32))


if __name__ == "__main__":
    main(sys.argv)
