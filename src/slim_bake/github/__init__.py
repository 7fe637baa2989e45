"""slim and GitHub, in three modules that import downward only:

- `client`: the REST API over urllib (origin check, no cross-origin redirect, deadlines,
  size cap, rate-limit waits); knows nothing of comments.
- `comment`: the sticky pull-request comment (marker, own identity, cut to GitHub's
  limit, the fork's fallback to the job summary); uses `client` and `actions`.
- `actions`: workflow commands, the job summary and the composite action's outputs;
  imports neither of the others (`python -m slim_bake.github outputs` runs it).

Nothing is imported here, so that `import slim_bake.github.actions` does not load urllib."""
