"""Front ends over the model and the exporters: the ``talkclip`` command and the worker process
the Blender extension runs Generate in (``python -m talkclip_cli.worker``)."""
