"""bot.dialogues.service."""
