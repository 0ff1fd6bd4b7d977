"""The Git layer: state in Git, one transactional commit primitive, pull-request mode.

Modules, lowest first:

- :mod:`~rollgen.gitops.git` -- typed ``git`` CLI wrapper (argv lists, ``LC_ALL=C``, no prompts,
  credentials redacted from errors), plus long-lived object reader / tree writer processes.
- :mod:`~rollgen.gitops.trailers` -- :class:`StepRecord`, the ``Rollgen-*`` trailer vocabulary.
- :mod:`~rollgen.gitops.snapshot` -- :class:`Snapshot` of a branch tip; :func:`history`, :func:`read_file_at`.
- :mod:`~rollgen.gitops.repo` -- :func:`commit_change` (decide on the tip, build without the index,
  compare-and-swap the ref / push, retry) and :func:`push_step_branch` for pull requests.
- :mod:`~rollgen.gitops.worktree` -- the checked-out working copy follows, and is repaired after a crash.
- :mod:`~rollgen.gitops.remote` -- fetch, and push as a compare-and-swap.
- :mod:`~rollgen.gitops.forge` -- GitHub pull requests / GitLab merge requests behind one Protocol.

Requires git >= 2.36 (``cat-file --batch-command``).
"""
