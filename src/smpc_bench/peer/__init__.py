"""One round in peer mode: every firm is an MPyC party holding its own rows."""
