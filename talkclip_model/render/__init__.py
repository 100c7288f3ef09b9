"""Neural renderers: a take's ARKit weights and head rotation on a character image -> frames.

``base.py`` is the interface (``Renderer``) any renderer fills; ``tha3_pose.py`` maps ARKit onto
Talking Head Anime 3's pose; ``tha3_files.py`` owns THA3's weight hashes and where its ONNX export
lives; ``tha3_onnx.py`` runs that export on onnxruntime. The export itself (torch) is in
``talkclip_model/training/export_tha3.py``. See docs/preview.md.
"""
