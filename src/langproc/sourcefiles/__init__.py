"""The sourcefile domain the engine drives: the language pipeline's step graph, uploads and their
checks, the result tables' writers, the services (create, retry, cancel, delete) and the reads."""
