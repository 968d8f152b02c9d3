"""An interactive semantic editor: edit label maps in the browser, see the generator's image.

[`EditorSession`][condgan_blocks.editor.EditorSession] holds the maps, per-instance styles and the
undo history (plain torch); [`EditorServer`][condgan_blocks.editor.EditorServer] serves it with a
small page on 127.0.0.1 (standard library only, plus Pillow for PNGs).
[`session_for_run`][condgan_blocks.editor.session_for_run] opens a session on a trained recipe
run, which ``python examples/pix2pixhd.py edit --run RUN`` serves.
"""

from .brush import stroke_mask
from .run_session import editor_classes, session_for_run
from .server import EditorServer
from .session import EditorClass, EditorSession

__all__ = [
    "EditorClass",
    "EditorServer",
    "EditorSession",
    "editor_classes",
    "session_for_run",
    "stroke_mask",
]
