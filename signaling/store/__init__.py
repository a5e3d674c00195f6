"""Where sessions, chat, the board log and uploads are kept (SQLite)."""
