"""Channel adapters: turn platform updates into engine input and render its replies (Telegram, console...)."""
