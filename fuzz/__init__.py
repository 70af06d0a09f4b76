"""Fuzzing harnesses (atheris) and their shared targets; see fuzz/README.md."""
