"""Export a trained head to ONNX and TFLite, check parity, write the model card."""
