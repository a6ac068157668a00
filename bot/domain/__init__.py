"""Pure rules with no I/O: time zones, schedules, state machines."""
