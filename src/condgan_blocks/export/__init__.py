"""Export the generators for deployment: torch.export programs and ONNX files.

Import it explicitly (``import condgan_blocks.export``); ``import condgan_blocks`` does not.

- ``export_program``, ``save_program``, ``load_program``: a
  ``torch.export.ExportedProgram`` in a ``.pt2`` file, run with torch alone.
- ``export_onnx``: an ONNX file whose height, width and batch size can vary.
- ``OnnxGenerator``: run such a file with onnxruntime on torch tensors, with the
  generator's input checks.

The ONNX parts need the optional ``onnx`` extra (``pip install "condgan-blocks[onnx]"``), imported
only when called.
"""

from .onnx_export import export_onnx
from .onnx_generator import OnnxGenerator
from .program import export_program, load_program, save_program

__all__ = ["OnnxGenerator", "export_onnx", "export_program", "load_program", "save_program"]
