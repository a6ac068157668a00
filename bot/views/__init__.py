"""Plain view objects that services return and texts format; imports only bot.domain and the
standard library."""
