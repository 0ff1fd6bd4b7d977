"""One release's rollout: its state, the rules of its next commit (pure), and the operations that read, decide, render and commit (I/O). See docs/architecture.md."""
