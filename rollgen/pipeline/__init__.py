"""Environment promotion: which completed version moves to the next environment (pure), and the passes that write it."""
