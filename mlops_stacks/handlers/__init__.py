"""Lambda handlers: thin shells over pure functions that tests call without AWS."""
