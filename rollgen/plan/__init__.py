"""The plan: a release as the sequence of states rollgen commits (pure). See docs/architecture.md."""
