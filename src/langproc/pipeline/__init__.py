"""The step graph, the engine (claim -> run -> checkpoint), the executor, and the services."""
