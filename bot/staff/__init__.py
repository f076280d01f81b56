"""bot.dialogues.organizer_chat."""
