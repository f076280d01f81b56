"""The household's request form in the chat: consent, identification, questions, the menu."""
