"""doithoai — the application core: conversation, dialogues, reminders, digests, roles, config, CLI.

Imports no platform library: channels live in ``handlers/``, storage in ``storage/``.
"""

__version__ = "0.1.0"
