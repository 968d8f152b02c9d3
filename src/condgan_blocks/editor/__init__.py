"""An interactive semantic editor: edit label maps in the browser, see the generator's image.

[`EditorSession`][condgan_blocks.editor.EditorSession] holds the maps, per-instance styles and the
undo history (plain torch); [`EditorServer`][condgan_blocks.editor.EditorServer] serves it with a
small page on 127.0.0.1 (standard library only, plus Pillow for PNGs). ``python
examples/pix2pixhd.py edit --run RUN`` starts one for a trained run.
"""

from .brush import stroke_mask
from .server import EditorServer
from .session import EditorClass, EditorSession

__all__ = ["EditorClass", "EditorServer", "EditorSession", "stroke_mask"]
