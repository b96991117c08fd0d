"""Tables, engine and session factories, and the few hand-written queries."""
