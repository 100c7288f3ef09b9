"""``python -m talkclip_cli``: the ``talkclip`` command."""

import sys

from talkclip_cli.cli import main

sys.exit(main())
